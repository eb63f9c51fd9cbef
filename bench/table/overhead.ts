/**
 * Capture overhead: nginx under wrk and redis-server under redis-benchmark,
 * untraced and traced by espan as its own process, in each role asked for:
 * all-in-one (the full chain to nop) and agent (examples/agent.yaml's chain
 * exporting to a linker process). Rounds interleave the servers, the
 * untraced runs and each role's traced runs, so the other load on a shared
 * machine hits all of them alike.
 */
import { missingPrograms, startNginx, startRedis } from '../../test/helpers/servers';
import { median, redisBenchmark, SMALL_PAGE, workerOf, wrk, type LoadRun } from '../lib/measure';
import { agentChain, tracedByAgent } from './agent-role';
import type { CaptureOverhead, OverheadOutcome, Role, RoleOverhead } from './results';
import { CHAIN, completeness, log, serverPids, sum, traced, type TracedRun, type Tracer } from './shared';

/** How each role traces one load. */
const TRACERS: Record<Role, { chain: () => string[]; trace: Tracer }> = {
  'all-in-one': { chain: () => CHAIN, trace: traced },
  agent: { chain: agentChain, trace: tracedByAgent },
};

export interface OverheadOptions {
  /** traced in each round, in this order */
  roles: Role[];
  rounds: number;
  /** of each wrk run */
  seconds: number;
  connections: number;
  /** per redis-benchmark test (GET, SET): about wrk's duration at loopback rates */
  redisRequests: number;
}

/** A running server and its load generator. */
interface LoadTarget {
  /** the server's comm */
  comm: string;
  /** the server's processes, the only ones traced */
  pids: number[];
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
    pids: serverPids(nginx.pid),
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
    pids: serverPids(redis.pid),
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
  traced: Map<Role, TracedRun[]>;
}

/** One outcome per server, nginx first; a server or generator that is not installed is not measured. */
export async function captureOverhead(ebpfWhy: string | undefined, opts: OverheadOptions): Promise<OverheadOutcome[]> {
  if (ebpfWhy) return SERVERS.map(({ server, generator }) => ({ server, generator, result: { outcome: 'not measured', why: ebpfWhy } }));
  const missing = SERVERS.map(({ server, generator }) => missingPrograms(server, generator));
  const measured = new Map<string, Rounds>();
  try {
    for (const [i, s] of SERVERS.entries()) if (!missing[i].length) measured.set(s.server, { target: await s.start(opts), untraced: [], traced: new Map(opts.roles.map((r) => [r, []])) });
    for (const m of measured.values()) await m.target.warmUp(); // discarded
    for (let i = 0; i < opts.rounds; i++) {
      for (const m of measured.values()) {
        log(`round ${i + 1}/${opts.rounds}: ${m.target.comm} untraced, traced (${opts.roles.join(', ')})`);
        m.untraced.push(await m.target.load());
        for (const role of opts.roles) m.traced.get(role)!.push(await TRACERS[role].trace(m.target.pids, m.target.load, m.target.warmUp));
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

// CPU per request: the server, the load generator and, when traced, espan (the agent, in the agent role)
function cpuUsPerRequest(xs: Array<LoadRun & { espanCpuMs?: number }>): number {
  return (sum(xs, (x) => x.cpuMs + (x.espanCpuMs ?? 0)) * 1000) / sum(xs, (x) => x.requests);
}

function overheadOf({ target, untraced, traced }: Rounds, rounds: number): CaptureOverhead {
  return {
    command: target.command,
    rounds,
    untraced: { requestsPerSecond: median(untraced.map((r) => r.rps)), cpuUsPerRequest: cpuUsPerRequest(untraced) },
    roles: [...traced].map(([role, runs]) => roleOverhead(role, runs)),
  };
}

function roleOverhead(role: Role, runs: TracedRun[]): RoleOverhead {
  const requests = sum(runs, (r) => r.requests);
  const seconds = sum(runs, (r) => r.requests / r.rps);
  const perRequest = (ms: number): number => (ms * 1000) / requests;
  return {
    role,
    chain: TRACERS[role].chain(),
    traced: { requestsPerSecond: median(runs.map((r) => r.rps)), cpuUsPerRequest: cpuUsPerRequest(runs) },
    espanCpuUsPerRequest: perRequest(sum(runs, (r) => r.espanCpuMs)),
    linkerCpuUsPerRequest: role === 'agent' ? perRequest(sum(runs, (r) => r.linkerCpuMs ?? 0)) : undefined,
    completeness: completeness(runs, requests, seconds),
    espanCores: sum(runs, (r) => r.espanCpuMs) / 1000 / seconds,
    warmUp: {
      requests: sum(runs, (r) => r.warmUp.requests),
      espanCpuUsPerRequest: (sum(runs, (r) => r.warmUp.espanCpuMs) * 1000) / sum(runs, (r) => r.warmUp.requests),
      kernelDrops: sum(runs, (r) => r.warmUp.kernelDrops),
    },
  };
}
