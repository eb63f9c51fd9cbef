/**
 * The demo's small multi-service system on loopback: a Python thread-per-request
 * front service calling redis-server, mariadb and a Node inventory service,
 * which calls redis-server too. No service is instrumented; each has
 * OTEL_SERVICE_NAME in its environment, which is how espan picks and names them.
 */
import { projectRoot } from '../core/project-root';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { freePort, startMariadb, startRedis, type RunningServer } from '../test/helpers/servers';

// The services are files of the source tree, also when this module runs from dist/.
const DEMO = path.join(projectRoot(), 'demo');

export interface DemoSystem {
  frontPort: number;
  pids: Record<'front' | 'inventory' | 'redis' | 'mariadb', number>;
  stop(): Promise<void>;
}

/** Starts a child and resolves once it prints "ready". */
function startService(cmd: string, args: string[], env: Record<string, string>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // Only the service's own variables: the demo driver's environment must not make it traced.
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(args[0])} exited (${code}): ${err}`)));
  });
}

export async function startDemoSystem(): Promise<DemoSystem> {
  const started: Array<RunningServer | ChildProcess> = [];
  const stop = async (): Promise<void> => {
    for (const s of started.reverse()) {
      if ('stop' in s) await s.stop();
      else if (s.exitCode === null) {
        const exited = new Promise((r) => s.once('exit', r));
        s.kill('SIGTERM');
        await exited;
      }
    }
  };
  try {
    const redis = await startRedis({ OTEL_SERVICE_NAME: 'redis' });
    started.push(redis);
    const mariadb = await startMariadb({ OTEL_SERVICE_NAME: 'mariadb' });
    started.push(mariadb);
    const inventoryPort = await freePort();
    const inventory = await startService(process.execPath, [path.join(DEMO, 'services/inventory.js'), String(inventoryPort), String(redis.port)], {
      OTEL_SERVICE_NAME: 'inventory',
    });
    started.push(inventory);
    const frontPort = await freePort();
    const front = await startService(
      '/usr/bin/python3', // Debian's, with python3-redis and python3-pymysql
      [path.join(DEMO, 'services/front.py'), String(frontPort), String(redis.port), String(mariadb.port), String(inventoryPort)],
      { OTEL_SERVICE_NAME: 'front', PYTHONUNBUFFERED: '1' },
    );
    started.push(front);
    return { frontPort, pids: { front: front.pid!, inventory: inventory.pid!, redis: redis.pid, mariadb: mariadb.pid }, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** GET /checkout?user=N on the front service with a fresh connection. */
export async function checkout(port: number, user: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/checkout?user=${user}`, { headers: { connection: 'close' } });
  await res.arrayBuffer();
  return res.status;
}
