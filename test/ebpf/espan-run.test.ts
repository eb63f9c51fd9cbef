/**
 * Acceptance: `espan run` with ebpf → record captures a live session, and
 * replay → debug shows it.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ebpfUnavailable, sleep } from './harness';

const ESPAN = path.join(__dirname, '../../bin/espan');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('espan run: ebpf → record, then replay → debug', function () {
  this.timeout(60_000);
  let dir: string;

  before(function () {
    const why = ebpfUnavailable();
    if (why) {
      console.log(`    skipping: ${why}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-run-'));
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('captures a live HTTP exchange to a file and shows it on replay', async () => {
    const port = await freePort();
    fs.writeFileSync(
      path.join(dir, 'capture.yaml'),
      `receivers:\n  ebpf:\n    trace_all_processes: true\n    ports: [${port}]\nexporters:\n  record:\n    path: session.espancap\nservice:\n  telemetry:\n    metrics:\n      level: none\n  pipelines:\n    traces/capture:\n      receivers: [ebpf]\n      exporters: [record]\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'replay.yaml'),
      `receivers:\n  replay:\n    path: session.espancap\nexporters:\n  debug:\n    verbosity: detailed\nservice:\n  telemetry:\n    metrics:\n      level: none\n  pipelines:\n    traces/replay:\n      receivers: [replay]\n      exporters: [debug]\n`,
    );
    const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: 'ignore' });
    const espan = spawn(process.execPath, [ESPAN, 'run', '--config', path.join(dir, 'capture.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    espan.stderr!.on('data', (d) => (log += d));
    const exited = new Promise<number>((r) => espan.on('close', (code) => r(code ?? -1)));
    try {
      for (let i = 0; i < 200 && !log.includes('espan is running'); i++) await sleep(100);
      expect(log, log).to.include('espan is running');
      await promisify(execFile)('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/espan-acceptance`]);
      await sleep(300);
    } finally {
      espan.kill('SIGTERM');
      server.kill('SIGTERM');
    }
    expect(await exited, log).to.equal(0);
    expect(fs.statSync(path.join(dir, 'session.espancap')).size).to.be.greaterThan(0);

    const { stdout } = await promisify(execFile)(process.execPath, [ESPAN, 'run', '--config', path.join(dir, 'replay.yaml')]);
    expect(stdout).to.match(/record connect .*comm=curl/);
    expect(stdout).to.match(/record accept4? .*comm=python3/);
    expect(stdout).to.match(/record (sendto|write) .*comm=curl/);
    expect(stdout).to.include('GET /espan-accep');
    expect(stdout).to.match(/record close .*comm=curl/);
  });
});
