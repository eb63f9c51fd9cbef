/**
 * What eBPF capture costs a busy server: wrk against nginx serving a small file
 * on loopback, untraced and traced (espan capturing every process and draining
 * to a null sink), alternated so the other load on the machine hits both alike.
 *
 *   npm run build && node dist/bench/ebpf-overhead.js [--duration 5] [--rounds 2] [--connections 32] [--only-nginx | --select-none]
 *       [--tracepoints auto|socket|syscall|socket,syscall] [--no-probe-stats] [--object other.bpf.o]
 *
 * --only-nginx traces the server alone; --select-none attaches the probe but
 * selects no process (the cost of the tracepoints themselves). With two sets
 * of tracepoints, each round runs both, each traced run between untraced ones,
 * and each set is reported on its own.
 *
 * Prints throughput of each run, the traced/untraced ratio (also as the median
 * of each traced run against the untraced runs on both sides of it), CPU per
 * request, records/s handed to JavaScript, kernel drops, and the probe's run
 * time per captured call.
 */
import * as os from 'node:os';
import { ServiceMetrics } from '../core/telemetry/metrics';
import type { EbpfConfig } from '../receivers/ebpf/config';
import { ebpfFactory } from '../receivers/ebpf/factory';
import type { Tracepoints } from '../receivers/ebpf/native';
import type { EbpfReceiver } from '../receivers/ebpf/receiver';
import { ebpfUnavailable } from '../test/ebpf/harness';
import { configFrom, testContext } from '../test/helpers/context';
import { missingPrograms, startNginx } from '../test/helpers/servers';
import { cpuMsOf, median, SMALL_PAGE, threadCpu, wrk as wrkRun, workerOf, type LoadRun } from './lib/measure';
import { flag, numberOption, option } from './lib/options';

const DURATION_S = numberOption('duration', 5);
const ROUNDS = numberOption('rounds', 2);
const CONNECTIONS = numberOption('connections', 32);
const ONLY_NGINX = flag('only-nginx');
// Probe attached but selecting no process: the cost of the tracepoints themselves.
const SELECT_NONE = flag('select-none');
// Another build of the probe (e.g. to compare two side by side); empty: this installation's.
const OBJECT = option('object') ?? '';
const TRACEPOINTS = (option('tracepoints') ?? 'auto').split(',') as Tracepoints[];
// The kernel's per-program run-time accounting costs two clock reads per program run: off for a clean ratio.
const PROBE_STATS = !flag('no-probe-stats');

// The rest of espan's CPU is V8's helper threads (concurrent marking and sweeping) and libuv's.
const MAIN_THREAD_STAT = `/proc/self/task/${process.pid}/stat`;

let nginxWorker = 0;
let nginxPort = 0;

const wrk = (): Promise<LoadRun> => wrkRun(`http://127.0.0.1:${nginxPort}/index.html`, nginxWorker, { connections: CONNECTIONS, seconds: DURATION_S });

interface TracedRun extends LoadRun {
  /** the set of tracepoints loaded (auto resolved) */
  tracepoints: string;
  records: number;
  seconds: number;
  drops: number;
  /** bytes of the kernel ring the records took */
  ringBytes: number;
  probeNs: number;
  blockedMs: number;
  batches: number;
  perProgram: Map<string, { runs: number; ns: number }>;
  /** CPU of espan's process during the load: all of it, its main (JavaScript) thread, and the reader thread */
  espanCpuMs: number;
  mainCpuMs: number;
  readerCpuMs: number;
}

async function traced(tracepoints: Tracepoints): Promise<TracedRun> {
  const selection = SELECT_NONE ? { service_env_vars: [] } : ONLY_NGINX ? { include_comms: ['nginx'] } : { trace_all_processes: true };
  const raw = { ...selection, object_path: OBJECT, tracepoints };
  const metrics = new ServiceMetrics();
  const receiver = ebpfFactory.create(configFrom<EbpfConfig>(ebpfFactory, raw), testContext('receiver', 'ebpf', metrics)) as EbpfReceiver;
  let records = 0;
  const done = new Promise<void>((resolve) => receiver.output.subscribe({ next: (b) => (records += b.length), complete: resolve }));
  await receiver.start();
  const probe = receiver.nativeProbe()!;
  if (PROBE_STATS) probe.enableRunTimeStats();
  const before = new Map(probe.programStats().map((p) => [p.name, p]));
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const threads0 = threadCpu();
  const main0 = cpuMsOf(MAIN_THREAD_STAT);
  const w = await wrk();
  const cpu = process.cpuUsage(cpu0);
  const mainCpuMs = cpuMsOf(MAIN_THREAD_STAT) - main0;
  const readerCpuMs = (threadCpu().get('espan-ringbuf') ?? 0) - (threads0.get('espan-ringbuf') ?? 0);
  const perProgram = new Map<string, { runs: number; ns: number }>();
  for (const p of probe.programStats()) {
    const b = before.get(p.name);
    perProgram.set(p.name, { runs: p.runCount - (b?.runCount ?? 0), ns: p.runTimeNs - (b?.runTimeNs ?? 0) });
  }
  const probeNs = [...perProgram.values()].reduce((s, p) => s + p.ns, 0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await receiver.shutdown();
  await done;
  const s = receiver.stats()!;
  return { ...w, tracepoints: probe.tracepoints(), records, seconds, drops: s.ringBufferFull + s.callTableFull, ringBytes: s.ringBytes, probeNs, blockedMs: s.blockedNs / 1e6, batches: s.batches, perProgram, espanCpuMs: (cpu.user + cpu.system) / 1000, mainCpuMs, readerCpuMs };
}

/** The figures of one set of tracepoints' traced runs, each against the untraced runs on both sides of it. */
function report(runs: TracedRun[], neighbours: Map<TracedRun, LoadRun[]>): void {
  const pairRatios = (f: (x: LoadRun[], t: TracedRun) => number): string => {
    const rs = runs.map((t) => f(neighbours.get(t)!, t)).sort((a, b) => a - b);
    return `${median(rs).toFixed(3)} (pairs ${rs[0].toFixed(2)}–${rs[rs.length - 1].toFixed(2)})`;
  };
  const plain = [...new Set(runs.flatMap((t) => neighbours.get(t)!))];
  const records = runs.reduce((s, r) => s + r.records, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const probeNs = runs.reduce((s, r) => s + r.probeNs, 0);
  const drops = runs.reduce((s, r) => s + r.drops, 0);
  console.log(`  with ${runs[0].tracepoints} tracepoints:`);
  console.log(`  traced    req/s: ${runs.map((r) => r.rps.toFixed(0)).join(', ')}`);
  console.log(`  traced/untraced, each traced run against the untraced runs before and after it: ${pairRatios((u, t) => (2 * t.rps) / (u[0].rps + u[1].rps))}`);
  // CPU per request is what the throughput ratio comes to when the cores are the limit; other tenants' load moves it far less.
  const espanCpu = runs.reduce((s, r) => s + r.espanCpuMs, 0);
  const perReq = (xs: Array<{ cpuMs: number; requests: number }>, extraMs = 0): number =>
    ((xs.reduce((s, x) => s + x.cpuMs, 0) + extraMs) * 1000) / xs.reduce((s, x) => s + x.requests, 0);
  const plainUs = perReq(plain);
  const tracedUs = perReq(runs, espanCpu);
  console.log(`  CPU per request (nginx + wrk, + espan when traced): untraced ${plainUs.toFixed(1)} µs, traced ${tracedUs.toFixed(1)} µs → CPU-bound ratio ${(plainUs / tracedUs).toFixed(3)}`);
  // One nginx worker is the bottleneck (wrk idles part of the time): its CPU per request bounds the throughput.
  const serverUs = (xs: LoadRun[]): number => (xs.reduce((s, x) => s + x.serverCpuMs, 0) * 1000) / xs.reduce((s, x) => s + x.requests, 0);
  console.log(
    `  nginx worker CPU per request: untraced ${serverUs(plain).toFixed(1)} µs, traced ${serverUs(runs).toFixed(1)} µs → ratio ${pairRatios((u, t) => serverUs(u) / serverUs([t]))}`,
  );
  const perRecord = (ms: number): string => ((ms * 1e6) / Math.max(1, records)).toFixed(0);
  const mainCpu = runs.reduce((s, r) => s + r.mainCpuMs, 0);
  const readerCpu = runs.reduce((s, r) => s + r.readerCpuMs, 0);
  console.log(
    `  espan process CPU while traced: ${((espanCpu / 1000 / seconds) * 100).toFixed(1)}% of one core, ${perRecord(espanCpu)} ns per record ` +
      `(main thread ${perRecord(mainCpu)}, reader thread ${perRecord(readerCpu)}, other threads ${perRecord(espanCpu - mainCpu - readerCpu)})`,
  );
  console.log(`  records delivered to JavaScript: ${(records / seconds).toFixed(0)}/s (${records} in ${seconds.toFixed(1)} s)`);
  const ringBytes = runs.reduce((s, r) => s + r.ringBytes, 0);
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  console.log(`  kernel ring bytes: ${(ringBytes / Math.max(1, records)).toFixed(0)} per record, ${(ringBytes / Math.max(1, requests)).toFixed(0)} per request`);
  console.log(`  kernel drops: ${drops}`);
  if (PROBE_STATS) console.log(`  probe CPU while traced: ${((probeNs / 1e9 / seconds) * 100).toFixed(1)}% of one core`);
  console.log(`  probe run time per captured call (enter + exit programs, all calls they saw): ${(probeNs / Math.max(1, records)).toFixed(0)} ns`);
  const programs = new Map<string, { runs: number; ns: number }>();
  for (const r of runs) {
    for (const [name, p] of r.perProgram) {
      const t = programs.get(name) ?? { runs: 0, ns: 0 };
      t.runs += p.runs;
      t.ns += p.ns;
      programs.set(name, t);
    }
  }
  const busy = [...programs].filter(([, p]) => p.runs > 0).sort((a, b) => b[1].ns - a[1].ns);
  console.log(`  per program (runs, mean ns/run): ${busy.map(([n, p]) => `${n} ${p.runs} ${(p.ns / p.runs).toFixed(0)}`).join('; ')}`);
  const batches = runs.reduce((s, r) => s + r.batches, 0);
  console.log(`  hand-overs to JavaScript: ${(batches / seconds).toFixed(0)}/s, ${(records / Math.max(1, batches)).toFixed(0)} records each`);
  console.log(`  reader waited for JavaScript: ${runs.map((r) => r.blockedMs.toFixed(0)).join(', ')} ms`);
}

async function main(): Promise<void> {
  const ebpfWhy = ebpfUnavailable();
  if (ebpfWhy) {
    console.log(`ebpf-overhead: skipped: ${ebpfWhy}`);
    return;
  }
  const missing = missingPrograms('nginx', 'wrk');
  if (missing.length) {
    console.log(`ebpf-overhead: skipped: ${missing.join(', ')} not installed (scripts/setup.sh installs it)`);
    return;
  }
  const nginx = await startNginx(SMALL_PAGE);
  nginxPort = nginx.port;
  nginxWorker = workerOf(nginx.pid);
  try {
    await wrk(); // warm-up is discarded
    const plain: LoadRun[] = [];
    const runs: TracedRun[] = [];
    // Untraced runs on both sides of every traced one: each traced run is compared with its neighbours,
    // which drifts in the other tenants' load hit alike, and the figure is the median of those pairs.
    plain.push(await wrk());
    for (let i = 0; i < ROUNDS; i++) {
      for (const tp of TRACEPOINTS) {
        runs.push(await traced(tp));
        plain.push(await wrk());
      }
    }
    const neighbours = new Map(runs.map((t, i) => [t, [plain[i], plain[i + 1]]]));
    console.log(`ebpf-overhead: wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s against nginx (1 worker, ${os.cpus().length} cores shared), ${SELECT_NONE ? 'attached, tracing no process' : ONLY_NGINX ? 'tracing nginx only' : 'tracing every process'}, ${ROUNDS} rounds`);
    console.log(`  untraced  req/s: ${plain.map((x) => x.rps.toFixed(0)).join(', ')}`);
    for (const tp of TRACEPOINTS) report(runs.filter((_, i) => TRACEPOINTS[i % TRACEPOINTS.length] === tp), neighbours);
  } finally {
    await nginx.stop();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
