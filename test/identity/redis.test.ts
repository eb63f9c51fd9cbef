/**
 * Process identity on the real thing. Debian's redis-server writes its title
 * over its arguments and environment when it starts (setproctitle), and
 * /usr/bin/redis-server is a symlink to redis-check-rdb: espan must still find
 * its OTEL_SERVICE_NAME, whether it was running before espan looked or started
 * after, name one without it `unknown_service:redis-server`, and select it by
 * its environment when not every process is traced.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { environOverwritten, readEnviron } from '../../core/procfs';
import { SpanKind, type NetworkRecord, type Span } from '../../core/signals';
import { ProcessTracker, type ProcessSelection, type Verdict } from '../../receivers/ebpf/processes';
import { parseFactory } from '../../processors/parse/factory';
import { propagationFactory } from '../../processors/propagation/factory';
import { ResourceCache, type ResourceOptions } from '../../processors/span_builder/resource';
import { spanBuilderFactory } from '../../processors/span_builder/factory';
import { threadCorrelationFactory } from '../../processors/thread_correlation/factory';
import { ebpfUnavailable, sleep, startCapture } from '../ebpf/harness';
import { freePort, missingPrograms } from '../helpers/servers';
import { processor, runStages } from '../spans/harness';
import { HOST, serverRequest } from '../spans/messages';

interface Redis {
  pid: number;
  port: number;
  child: ChildProcess;
  dir: string;
}

/** redis-server as its package runs it (title rewriting on), with only PATH and `env` in its environment. */
async function startRedis(env: Record<string, string>, port?: number): Promise<Redis> {
  port ??= await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-identity-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: 'ignore',
  });
  const redis = { pid: child.pid!, port, child, dir };
  // ready once it answers and its title is written (redis does that after it listens)
  const deadline = Date.now() + 20_000;
  while ((await ping(port, 1).catch(() => 0)) !== 1 || !environOverwritten(readEnviron(redis.pid) ?? Buffer.alloc(0))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${port} did not start and set its title`);
    await sleep(50);
  }
  return redis;
}

async function stopRedis(r: Redis | undefined): Promise<void> {
  if (!r) return;
  if (r.child.exitCode === null && r.child.signalCode === null) {
    const exited = new Promise((resolve) => r.child.once('exit', resolve));
    r.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
  }
  fs.rmSync(r.dir, { recursive: true, force: true });
}

/** Sends `n` PINGs one after the other on one connection; resolves with the PONGs received. */
function ping(port: number, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let pongs = 0;
    let buffered = '';
    sock.once('error', reject);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buffered += d.toString('latin1');
      while (buffered.includes('\r\n')) {
        if (!buffered.startsWith('+PONG\r\n')) return reject(new Error(`unexpected reply ${JSON.stringify(buffered)}`));
        buffered = buffered.slice(7);
        if (++pongs === n) return sock.end(() => resolve(pongs));
        sock.write('PING\r\n');
      }
    });
  });
}

const resourceOptions: ResourceOptions = {
  serviceNameEnv: ['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DK_BPFTRACE_SERVICE'],
  commandLine: true,
  maxProcesses: 100,
  refreshMs: 30_000,
  procRoot: '/proc',
  localHostId: HOST.hostId,
};

const selection: ProcessSelection = {
  traceAll: false,
  serviceEnvVars: ['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DK_BPFTRACE_SERVICE'],
  includeComms: [],
  excludeComms: [],
  includePids: [],
  excludePids: [],
  selfPid: process.pid,
};

/** A tracker over the real /proc, and the verdicts it gave the probe's map. */
function tracker(): { scan(): void; verdicts: Map<number, Verdict> } {
  const verdicts = new Map<number, Verdict>();
  const t = new ProcessTracker(selection, { setPid: (pid, v) => verdicts.set(pid, v), deletePid: (pid) => verdicts.set(pid, 'none') });
  return { scan: () => t.scan(), verdicts };
}

const resourceOf = (cache: ResourceCache, r: Redis) => cache.forMessage(serverRequest(1, 1, 2, { pid: r.pid, comm: 'redis-server', sport: r.port })).attributes;

describe('process identity: a redis-server that writes its title over its environment', function () {
  this.timeout(60_000);
  const executable = (() => {
    try {
      return path.basename(fs.realpathSync('/usr/bin/redis-server'));
    } catch {
      return undefined;
    }
  })();
  let early: Redis | undefined;
  const started: Array<Redis | undefined> = [];
  const start = async (env: Record<string, string>, port?: number) => {
    const r = await startRedis(env, port);
    started.push(r);
    return r;
  };

  before(async function () {
    const why = missingPrograms('redis-server').length ? 'redis-server is missing (scripts/setup.sh installs it)' : process.getuid?.() !== 0 ? 'reading another process\'s memory needs root' : undefined;
    if (why) {
      console.log(`    skipping: ${why}`);
      this.skip();
    }
    // started before anything of espan looked at it
    early = await start({ OTEL_SERVICE_NAME: 'redis' });
  });
  after(async () => {
    for (const r of started) await stopRedis(r);
  });

  it("finds the service name of one that was running before espan looked, though /proc/<pid>/environ lost it", () => {
    expect(environOverwritten(readEnviron(early!.pid)!)).to.equal(true);
    const a = resourceOf(new ResourceCache(resourceOptions), early!);
    expect(a['service.name']).to.equal('redis');
    // the executable as the conventions define it (the symlink's target), the command line without the title's padding
    expect(a['process.executable.name']).to.equal(executable);
    expect(a['process.command_line']).to.equal(`redis-server 127.0.0.1:${early!.port}`);
    const t = tracker();
    t.scan();
    expect(t.verdicts.get(early!.pid)).to.equal('include');
  });

  it('finds it for one started after the resolver and the tracker first looked', async () => {
    const cache = new ResourceCache(resourceOptions);
    resourceOf(cache, early!);
    const t = tracker();
    t.scan();
    const late = await start({ OTEL_SERVICE_NAME: 'redis' });
    t.scan();
    expect(t.verdicts.get(late.pid)).to.equal('include');
    expect(resourceOf(cache, late)['service.name']).to.equal('redis');
  });

  it('names one without a service variable by the name it was started as, and leaves it unselected', async () => {
    const plain = await start({ OTEL_RESOURCE_ATTRIBUTES: 'team=cache' });
    const a = resourceOf(new ResourceCache(resourceOptions), plain);
    expect(a).to.include({ 'service.name': 'unknown_service:redis-server', team: 'cache', 'process.executable.name': executable });
    const t = tracker();
    t.scan();
    expect(t.verdicts.get(plain.pid) ?? 'none').to.equal('none');
  });

  it('is traced when trace_all_processes is false, selected by its environment, on the real kernel', async function () {
    const why = ebpfUnavailable();
    if (why) {
      console.log(`      skipping: ${why}`);
      this.skip();
    }
    const plain = await start({});
    const latePort = await freePort();
    const cap = await startCapture({ trace_all_processes: false, process_scan_interval: '100ms', poll_interval: '5ms', ports: [early!.port, plain.port, latePort] });
    let records: NetworkRecord[] = [];
    let late: Redis | undefined;
    try {
      late = await start({ OTEL_SERVICE_NAME: 'redis' }, latePort);
      await sleep(400); // the scan every 100 ms finds it
      for (const r of [early!, late, plain]) expect(await ping(r.port, 5)).to.equal(5);
      await sleep(200);
    } finally {
      records = await cap.stop();
    }
    const count = (r: Redis) => records.filter((x) => x.pid === r.pid).length;
    console.log(`      records: started before ${count(early!)}, started after ${count(late!)}, without a service variable ${count(plain)}`);
    expect(count(plain)).to.equal(0);
    const spans = await runStages<Span>(records, [processor(parseFactory, {}), processor(threadCorrelationFactory, {}), processor(propagationFactory, {}), processor(spanBuilderFactory, {})]);
    for (const r of [early!, late!]) {
      const server = spans.filter((s) => s.kind === SpanKind.SERVER && s.resource.attributes['process.pid'] === r.pid);
      // the late one's start-up PINGs may be traced too, when a scan found it before it was ready
      expect(server.length, `server spans of pid ${r.pid}`).to.be.at.least(5);
      for (const s of server) expect(s.resource.attributes['service.name']).to.equal('redis');
    }
  });
});
