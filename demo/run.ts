/**
 * npm run demo: starts the demo system, runs espan on demo/pipeline.yaml,
 * sends a few requests, and lets espan print the traces it built as trees.
 * Then stops everything it started.
 */
import { projectRoot } from '../core/project-root';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { checkout, startDemoSystem } from './system';

const REQUESTS = Number(process.env.DEMO_REQUESTS ?? 3);

async function main(): Promise<void> {
  console.log('starting redis-server, mariadb, the inventory service (Node) and the front service (Python)…');
  const system = await startDemoSystem();
  console.log(`services up: front pid ${system.pids.front} on :${system.frontPort}, inventory pid ${system.pids.inventory}, redis pid ${system.pids.redis}, mariadb pid ${system.pids.mariadb}`);
  const espan = spawn(process.execPath, [path.join(projectRoot(), 'bin', 'espan'), 'run', '--config', path.join(projectRoot(), 'demo', 'pipeline.yaml')], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let err = '';
  espan.stderr!.on('data', (d) => {
    err += d;
    process.stderr.write(d);
  });
  const exited = new Promise<number>((resolve) => espan.on('exit', (c) => resolve(c ?? 1)));
  try {
    // The probe is attached once espan has started its receiver; give it a moment.
    await Promise.race([new Promise((r) => setTimeout(r, 3000)), exited]);
    if (espan.exitCode !== null) throw new Error(`espan could not start:\n${err}`);
    console.log(`\nsending ${REQUESTS} requests: GET /checkout?user=N (front → redis, mariadb, inventory → redis)\n`);
    for (let i = 1; i <= REQUESTS; i++) console.log(`  GET /checkout?user=${i} → ${await checkout(system.frontPort, i)}`);
    console.log('\ntraces, as espan builds them (no service is instrumented):\n');
    await new Promise((r) => setTimeout(r, 4000));
  } finally {
    if (espan.exitCode === null) espan.kill('SIGTERM');
    const code = await exited;
    await system.stop();
    console.log(`\nespan exited with ${code}; everything the demo started is stopped.`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
