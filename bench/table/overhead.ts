/**
 * Capture overhead: nginx under wrk and redis-server under redis-benchmark,
 * untraced and traced by espan running the full chain as its own process.
 * Rounds interleave the servers and the untraced and traced runs, so the other
 * load on a shared machine hits all of them alike.
 */
import { missingPrograms, startNginx, startRedis } from '../../test/helpers/servers';
import { median, redisBenchmark, SMALL_PAGE, workerOf, wrk, type LoadRun } from '../lib/measure';
import type { CaptureOverhead, OverheadOutcome } from './results';
import { completeness, log, sum, traced, type TracedRun } from './shared';

export interface OverheadOptions {
  rounds: number;
  /** of each wrk run */
  seconds: number;
  connections: number;
  /** per redis-benchmark test (GET, SET): about wrk's duration at loopback rates */
  redisRequests: number;
}

/** A running server and its load generator. */
interface LoadTarget {
  /** the server's comm, the only process traced */
  comm: string;
  command: string;
  load(): Promise<LoadRun>;
  warmUp(): Promise<LoadRun>;
  stop(): Promise<void>;
}

async function startNginxTarget(opts: OverheadOptions): Promise<LoadTarget> {
  const nginx = await startNginx(SMALL_PAGE);
  const url = `http://127.0.0.1:${nginx.port}/index.html`;
  const worker = workerOf(nginx.pid);
  return {
    comm: 'nginx',
    command: `wrk -t1 -c${opts.connections} -d${opts.seconds}s`,
    load: () => wrk(url, worker, { connections: opts.connections, seconds: opts.seconds }),
    warmUp: () => wrk(url, worker, { connections: opts.connections, seconds: 1 }),
    stop: () => nginx.stop(),
  };
}

async function startRedisTarget(opts: OverheadOptions): Promise<LoadTarget> {
  const redis = await startRedis();
  return {
    comm: 'redis-server',
    command: `redis-benchmark -t get,set -n ${opts.redisRequests.toLocaleString('en', { maximumFractionDigits: 0 })} -P 1 -c ${opts.connections}`,
    load: () => redisBenchmark(redis.port, redis.pid, { connections: opts.connections, requests: opts.redisRequests }),
    warmUp: () => redisBenchmark(redis.port, redis.pid, { connections: opts.connections, requests: opts.redisRequests / 5 }),
    stop: () => redis.stop(),
  };
}

const SERVERS = [
  { server: 'nginx', generator: 'wrk', start: startNginxTarget },
  { server: 'redis-server', generator: 'redis-benchmark', start: startRedisTarget },
];

interface Rounds {
  target: LoadTarget;
  untraced: LoadRun[];
  traced: TracedRun[];
}

/** One outcome per server, nginx first; a server or generator that is not installed is not measured. */
export async function captureOverhead(ebpfWhy: string | undefined, opts: OverheadOptions): Promise<OverheadOutcome[]> {
  if (ebpfWhy) return SERVERS.map(({ server, generator }) => ({ server, generator, result: { outcome: 'not measured', why: ebpfWhy } }));
  const missing = SERVERS.map(({ server, generator }) => missingPrograms(server, generator));
  const measured = new Map<string, Rounds>();
  try {
    for (const [i, s] of SERVERS.entries()) if (!missing[i].length) measured.set(s.server, { target: await s.start(opts), untraced: [], traced: [] });
    for (const m of measured.values()) await m.target.warmUp(); // discarded
    for (let i = 0; i < opts.rounds; i++) {
      for (const m of measured.values()) {
        log(`round ${i + 1}/${opts.rounds}: ${m.target.comm} untraced, traced`);
        m.untraced.push(await m.target.load());
        m.traced.push(await traced(m.target.comm, m.target.load));
      }
    }
  } finally {
    for (const m of measured.values()) await m.target.stop();
  }
  return SERVERS.map(({ server, generator }, i) => {
    const m = measured.get(server);
    return { server, generator, result: m ? overheadOf(m, opts.rounds) : { outcome: 'not measured', why: `not installed: ${missing[i].join(', ')}` } };
  });
}

function overheadOf({ target, untraced, traced }: Rounds, rounds: number): CaptureOverhead {
  // CPU per request: the server, the load generator and, when traced, espan
  const cpuUsPerRequest = (xs: Array<LoadRun & { espanCpuMs?: number }>): number => (sum(xs, (x) => x.cpuMs + (x.espanCpuMs ?? 0)) * 1000) / sum(xs, (x) => x.requests);
  const seconds = sum(traced, (r) => r.requests / r.rps);
  return {
    command: target.command,
    rounds,
    untraced: { requestsPerSecond: median(untraced.map((r) => r.rps)), cpuUsPerRequest: cpuUsPerRequest(untraced) },
    traced: { requestsPerSecond: median(traced.map((r) => r.rps)), cpuUsPerRequest: cpuUsPerRequest(traced) },
    completeness: completeness(traced, sum(traced, (r) => r.requests), seconds),
    espanCores: sum(traced, (r) => r.espanCpuMs) / 1000 / seconds,
  };
}
