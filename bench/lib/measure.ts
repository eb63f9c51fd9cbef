/**
 * Measuring helpers shared by the benchmarks: CPU time from /proc, and the
 * load generators (wrk, redis-benchmark) with the CPU they and the server
 * spent, so a run can be compared per request as well as per second.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

const TICK_MS = 1000 / 100; // USER_HZ

/** utime + stime in ms from a /proc stat file */
export function cpuMsOf(statPath: string): number {
  const stat = fs.readFileSync(statPath, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/** Resident set size of a process in kB (VmRSS). */
export function rssKbOf(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** The children a process forked from its main thread (an nginx master's workers). */
export function childrenOf(pid: number): number[] {
  return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** The first child of a process (an nginx master's worker): its CPU time is what the probe slows down. */
export function workerOf(masterPid: number): number {
  return childrenOf(masterPid)[0] ?? 0;
}

/** CPU ms per thread name of this process (the addon's reader thread is "espan-ringbuf") */
export function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.set(name, (out.get(name) ?? 0) + cpuMsOf(`/proc/self/task/${tid}/stat`));
    } catch {
      /* exited */
    }
  }
  return out;
}

export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** What nginx serves under load: a small page, so the requests and not the copying are measured. */
export const SMALL_PAGE = { 'index.html': '<html><body>' + 'espan '.repeat(90) + '</body></html>\n' };

export interface LoadRun {
  rps: number;
  requests: number;
  /** CPU of the load generator and the server; their syscalls include the probe's run time */
  cpuMs: number;
  /** CPU of the server alone (with one nginx worker, the bottleneck) */
  serverCpuMs: number;
}

/** CPU ms of the children a shell waited for, from the `cat /proc/$$/stat` that ends its output (cutime + cstime). */
function childrenCpuMs(stdout: string): number {
  const stat = stdout.trim().split('\n').pop()!;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

/** wrk against `url`, with the CPU of wrk and of `serverPid` (the process doing the serving) over the run. */
export async function wrk(url: string, serverPid: number, opts: { connections: number; seconds: number }): Promise<LoadRun> {
  const before = cpuMsOf(`/proc/${serverPid}/stat`);
  const cmd = `wrk -t1 -c${opts.connections} -d${opts.seconds}s ${url}; echo; cat /proc/$$/stat`;
  const { stdout } = await run('sh', ['-c', cmd]);
  const serverMs = cpuMsOf(`/proc/${serverPid}/stat`) - before;
  const m = /Requests\/sec:\s*([\d.]+)/.exec(stdout);
  const n = /(\d+) requests in/.exec(stdout);
  if (!m || !n) throw new Error(`no Requests/sec in wrk output:\n${stdout}`);
  return { rps: Number(m[1]), requests: Number(n[1]), cpuMs: childrenCpuMs(stdout) + serverMs, serverCpuMs: serverMs };
}

/**
 * redis-benchmark (GET and SET, `requests` of each, no pipelining) against
 * redis-server on `port`, with the CPU of the benchmark and of `serverPid`.
 * rps is over both tests: all requests / the time they took together.
 */
export async function redisBenchmark(port: number, serverPid: number, opts: { connections: number; requests: number }): Promise<LoadRun> {
  const before = cpuMsOf(`/proc/${serverPid}/stat`);
  const cmd = `redis-benchmark -h 127.0.0.1 -p ${port} -q --csv -t get,set -n ${opts.requests} -P 1 -c ${opts.connections}; echo; cat /proc/$$/stat`;
  const { stdout } = await run('sh', ['-c', cmd]);
  const serverMs = cpuMsOf(`/proc/${serverPid}/stat`) - before;
  const rates = [...stdout.matchAll(/^"(GET|SET)","([\d.]+)"/gm)].map((m) => Number(m[2]));
  if (rates.length !== 2) throw new Error(`no GET and SET rates in redis-benchmark output:\n${stdout}`);
  const requests = 2 * opts.requests;
  // The harmonic combination of the two rates: the rate of the whole run without the process start-up.
  const rps = requests / rates.reduce((s, r) => s + opts.requests / r, 0);
  return { rps, requests, cpuMs: childrenCpuMs(stdout) + serverMs, serverCpuMs: serverMs };
}

/** One line naming the machine a benchmark ran on. */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, Linux ${os.release()}, Node ${process.version}`;
}
