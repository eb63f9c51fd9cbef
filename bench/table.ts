/**
 * The end-to-end benchmark table, measured in one run on this machine:
 *
 *   npm run bench:table      (node --import tsx bench/table.ts [--rounds 2] [--duration 5])
 *
 * 1. capture overhead: nginx under wrk and redis-server under redis-benchmark,
 *    untraced and traced by espan running the full chain (ebpf → parse →
 *    thread_correlation → propagation → espan → linking → tail_sampling → nop)
 *    as its own process, rounds interleaved; traced/untraced ratio of
 *    throughput and of CPU per request (the server, the load generator and,
 *    when traced, espan);
 * 2. full-pipeline throughput on one core: a capture recorded from the demo
 *    system replayed through parse → … → tail_sampling → nop, records/s, spans/s;
 * 3. espan's RSS at a steady 10k req/s (paced, against nginx: the demo's
 *    Python front service serves far less on two cores);
 * 4. span completeness (spans exported / requests answered) and drops
 *    (kernel + pipeline) at each load, the highest being wrk's and redis-benchmark's.
 *
 * Prints progress to stderr and the Markdown table, with the machine, to stdout.
 * Where eBPF or a server is missing the row says why and the rest goes on.
 */
import { projectRoot } from '../core/project-root';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../core/config/load';
import { Service } from '../core/service';
import { memoryLogger } from '../core/telemetry/logger';
import { checkout, startDemoSystem } from '../demo/system';
import { defaultObjectPath, EbpfUnavailableError, loadAddon, preflight } from '../receivers/ebpf/native';
import { defaultRegistry } from '../registry';
import { startNginx, startRedis, type RunningServer } from '../test/helpers/servers';
import { startEspan, type EspanProcess } from './lib/espan-process';
import { machine, median, missingTools, redisBenchmark, workerOf, wrk, type LoadRun } from './lib/measure';
import { pacedHttp } from './lib/paced-http';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const ROUNDS = arg('rounds', 2);
const DURATION_S = arg('duration', 5);
const CONNECTIONS = 32;
/** per redis-benchmark test (GET, SET): about wrk's duration at loopback rates */
const REDIS_REQUESTS = arg('redis-requests', 100_000);
const PACED_RATE = arg('rate', 10_000);
const PACED_SECONDS = arg('paced-seconds', 20);
const RECORD_SECONDS = arg('record-seconds', 8);
const REPLAY_RUNS = 3;

const CHAIN = ['parse', 'thread_correlation', 'propagation', 'espan', 'linking', 'tail_sampling'];
const PROCESSORS = `processors:
  parse: {}
  thread_correlation: {}
  propagation: {}
  espan: {}
  linking: {}
  tail_sampling: {decision_wait: 1s, policies: [{name: all, type: always_sample}]}
exporters:
  nop: {}
`;

/** The full chain to a nop exporter, tracing the processes named `comm` only (not the load generator). */
function tracedChain(comm: string): string {
  return `receivers:
  ebpf: {trace_all_processes: false, service_env_vars: [], include_comms: [${comm}]}
${PROCESSORS}service:
  pipelines:
    traces: {receivers: [ebpf], processors: [${CHAIN.join(', ')}], exporters: [nop]}
`;
}

const log = (msg: string): void => void process.stderr.write(`[bench:table] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0): string => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

interface Row {
  measurement: string;
  result: string;
  how: string;
}
const rows: Row[] = [];
const notes: string[] = [];

interface Counts {
  spans: number;
  records: number;
  kernelDrops: number;
  pipelineDrops: number;
  /** pipeline drops by "component reason" */
  dropReasons: Map<string, number>;
}

/**
 * What a traced run produced once the chain let its last spans through:
 * linking holds spans for its windows and tail_sampling for decision_wait, and
 * an overloaded espan still works off its backlog, so wait until nothing moves.
 */
async function settledCounts(espan: EspanProcess): Promise<Counts> {
  const progress = async (): Promise<string> =>
    JSON.stringify([
      await espan.metric('espan_processor_incoming_items_total'),
      await espan.metric('espan_exporter_sent_items_total', { exporter: 'nop' }),
      await espan.metric('espan_processor_dropped_items_total'),
    ]);
  const deadline = Date.now() + 40_000;
  let last = '';
  let still = 0;
  await sleep(1500);
  while (Date.now() < deadline && still < 2) {
    const now = await progress();
    still = now === last ? still + 1 : 0;
    last = now;
    await sleep(1500);
  }
  const dropReasons = new Map<string, number>();
  const count = (key: string, n: number): void => void (n > 0 && dropReasons.set(key, (dropReasons.get(key) ?? 0) + n));
  for (const x of await espan.series('espan_processor_dropped_items_total')) count(`${x.labels.processor} ${x.labels.reason}`, x.value);
  for (const x of await espan.series('espan_receiver_refused_items_total')) count(`${x.labels.receiver} refused ${x.labels.reason}`, x.value);
  for (const x of await espan.series('espan_exporter_send_failed_items_total')) count(`${x.labels.exporter} failed ${x.labels.reason}`, x.value);
  return {
    spans: await espan.metric('espan_exporter_sent_items_total', { exporter: 'nop' }),
    records: await espan.metric('espan_ebpf_delivered_records_total'),
    kernelDrops: await espan.metric('espan_ebpf_kernel_dropped_records_total'),
    pipelineDrops: [...dropReasons.values()].reduce((a, b) => a + b, 0),
    dropReasons,
  };
}

function dropText(kernel: number, pipeline: number, reasons: Map<string, number>[]): string {
  const all = new Map<string, number>();
  for (const r of reasons) for (const [k, v] of r) all.set(k, (all.get(k) ?? 0) + v);
  const why = [...all].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt(v)}`);
  return `drops: kernel ${fmt(kernel)} records, pipeline ${fmt(pipeline)}${why.length ? ` (${why.join('; ')})` : ''}`;
}

interface TracedRun extends LoadRun, Counts {
  espanCpuMs: number;
}

async function traced(comm: string, load: () => Promise<LoadRun>): Promise<TracedRun> {
  const espan = await startEspan(tracedChain(comm));
  try {
    await sleep(500);
    const cpu0 = espan.cpuMs();
    const run = await load();
    const espanCpuMs = espan.cpuMs() - cpu0;
    return { ...run, espanCpuMs, ...(await settledCounts(espan)) };
  } finally {
    await espan.stop();
  }
}

function sum<T>(xs: T[], f: (x: T) => number): number {
  return xs.reduce((s, x) => s + f(x), 0);
}

function overheadRows(name: string, tool: string, plain: LoadRun[], runs: TracedRun[], unit: string): void {
  const ratio = median(runs.map((r) => r.rps)) / median(plain.map((p) => p.rps));
  const perReq = (xs: Array<LoadRun & { espanCpuMs?: number }>): number => (sum(xs, (x) => x.cpuMs + (x.espanCpuMs ?? 0)) * 1000) / sum(xs, (x) => x.requests);
  const plainUs = perReq(plain);
  const tracedUs = perReq(runs);
  rows.push({
    measurement: `capture overhead, ${name} (${tool})`,
    result: `throughput ×${ratio.toFixed(2)} (${fmt(median(plain.map((p) => p.rps)))} → ${fmt(median(runs.map((r) => r.rps)))} ${unit}/s); CPU/request ${plainUs.toFixed(1)} → ${tracedUs.toFixed(1)} µs (×${(plainUs / tracedUs).toFixed(2)})`,
    how: `medians of ${runs.length} interleaved rounds; traced = full chain to nop in its own process, tracing ${name} only; CPU = ${name} + ${tool} (+ espan)`,
  });
  const spans = sum(runs, (r) => r.spans);
  const requests = sum(runs, (r) => r.requests);
  const seconds = sum(runs, (r) => r.requests / r.rps);
  rows.push({
    measurement: `span completeness and drops at the highest load, ${name}`,
    result: `${((spans / requests) * 100).toFixed(2)}% (${fmt(spans)} spans / ${fmt(requests)} requests); ${dropText(sum(runs, (r) => r.kernelDrops), sum(runs, (r) => r.pipelineDrops), runs.map((r) => r.dropReasons))}`,
    how: `${tool} unpaced at ${fmt(median(runs.map((r) => r.rps)))} ${unit}/s traced; ${fmt(sum(runs, (r) => r.records) / seconds)} records/s into espan, espan at ${((sum(runs, (r) => r.espanCpuMs) / 1000 / seconds) * 100).toFixed(0)}% of a core`,
  });
}

async function overhead(ebpfWhy: string | undefined): Promise<void> {
  const what = ['capture overhead, nginx (wrk)', 'capture overhead, redis-server (redis-benchmark)'];
  if (ebpfWhy) {
    for (const m of what) rows.push({ measurement: m, result: 'not measured', how: ebpfWhy });
    return;
  }
  const missingHttp = await missingTools('nginx', 'wrk');
  const missingRedis = await missingTools('redis-server', 'redis-benchmark');
  let nginx: RunningServer | undefined;
  let redis: RunningServer | undefined;
  try {
    if (missingHttp.length) rows.push({ measurement: what[0], result: 'not measured', how: `not installed: ${missingHttp.join(', ')}` });
    else nginx = await startNginx({ 'index.html': '<html><body>' + 'espan '.repeat(90) + '</body></html>\n' });
    if (missingRedis.length) rows.push({ measurement: what[1], result: 'not measured', how: `not installed: ${missingRedis.join(', ')}` });
    else redis = await startRedis();
    const http = nginx && { url: `http://127.0.0.1:${nginx.port}/index.html`, worker: workerOf(nginx.pid) };
    const loadHttp = (): Promise<LoadRun> => wrk(http!.url, http!.worker, { connections: CONNECTIONS, seconds: DURATION_S });
    const loadRedis = (): Promise<LoadRun> => redisBenchmark(redis!.port, redis!.pid, { connections: CONNECTIONS, requests: REDIS_REQUESTS });
    // warm-ups, discarded
    if (http) await wrk(http.url, http.worker, { connections: CONNECTIONS, seconds: 1 });
    if (redis) await redisBenchmark(redis.port, redis.pid, { connections: CONNECTIONS, requests: REDIS_REQUESTS / 5 });
    const plainHttp: LoadRun[] = [];
    const tracedHttp: TracedRun[] = [];
    const plainRedis: LoadRun[] = [];
    const tracedRedis: TracedRun[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (http) {
        log(`round ${i + 1}/${ROUNDS}: nginx untraced, traced`);
        plainHttp.push(await loadHttp());
        tracedHttp.push(await traced('nginx', loadHttp));
      }
      if (redis) {
        log(`round ${i + 1}/${ROUNDS}: redis-server untraced, traced`);
        plainRedis.push(await loadRedis());
        tracedRedis.push(await traced('redis-server', loadRedis));
      }
    }
    if (http) overheadRows('nginx', `wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s`, plainHttp, tracedHttp, 'req');
    if (redis) overheadRows('redis-server', `redis-benchmark -t get,set -n ${fmt(REDIS_REQUESTS)} -P 1 -c ${CONNECTIONS}`, plainRedis, tracedRedis, 'req');
  } finally {
    await nginx?.stop();
    await redis?.stop();
  }
}

/** Records demo-system traffic (ebpf → record) while checkouts run `concurrency` at a time; the checkouts/s reached. */
async function recordDemo(file: string, concurrency: number): Promise<{ checkouts: number; perSecond: number }> {
  const system = await startDemoSystem();
  let espan: EspanProcess | undefined;
  try {
    espan = await startEspan(`receivers:
  ebpf: {trace_all_processes: false}
exporters:
  record: {path: ${JSON.stringify(file)}}
service:
  pipelines:
    traces: {receivers: [ebpf], exporters: [record]}
`);
    await sleep(1000);
    let checkouts = 0;
    const t0 = performance.now();
    const end = t0 + RECORD_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        while (performance.now() < end) {
          await checkout(system.frontPort, 1 + ((checkouts + w) % 3));
          checkouts++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    await sleep(1000);
    return { checkouts, perSecond: checkouts / seconds };
  } finally {
    await espan?.stop();
    await system.stop();
  }
}

/** In the child pinned to one core: replays `file` through the full chain, prints {records, spans, seconds} as JSON. */
async function replayChild(file: string): Promise<void> {
  let records = 0;
  let spans = 0;
  let seconds = 0;
  for (let i = 0; i <= REPLAY_RUNS; i++) {
    const cfg = parseConfig(
      `receivers: {replay: {path: ${JSON.stringify(file)}}}
${PROCESSORS}service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [${CHAIN.join(', ')}], exporters: [nop]}}
`,
      'bench-table.yaml',
      defaultRegistry(),
      {},
    );
    const svc = new Service(cfg, { logger: memoryLogger() });
    const t0 = performance.now();
    await svc.start();
    await svc.receiversFinished();
    await svc.shutdown(); // the chain's held spans flush here: part of the work
    if (i === 0) continue; // warm-up
    seconds += (performance.now() - t0) / 1000;
    records += await svc.metrics.total('espan_receiver_accepted_items_total');
    spans += await svc.metrics.total('espan_exporter_sent_items_total');
  }
  process.stdout.write(JSON.stringify({ records, spans, seconds }) + '\n');
}

async function replayThroughput(ebpfWhy: string | undefined): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-bench-table-'));
  try {
    let file = path.join(dir, 'demo.espcap');
    let source: string;
    const missing = await missingTools('redis-server', 'mariadbd', 'mariadb-install-db', 'python3');
    if (ebpfWhy || missing.length) {
      file = path.join(projectRoot(), 'bench', 'testdata', 'linking-two-hosts.espcap');
      source = `bench/testdata/linking-two-hosts.espcap (no demo recording: ${ebpfWhy ?? `not installed: ${missing.join(', ')}`})`;
    } else {
      log(`recording the demo system for ${RECORD_SECONDS} s`);
      const r = await recordDemo(file, 4);
      source = `${fmt(r.checkouts)} demo checkouts (front → redis, mariadb, inventory → redis; ${fmt(r.perSecond)}/s, 4 at a time), recorded by the record exporter, ${(fs.statSync(file).size / 1e6).toFixed(1)} MB`;
      notes.push(`The demo system reached ${fmt(r.perSecond)} checkouts/s on this machine (4 concurrent clients), far from 10k req/s: the RSS row is measured against nginx.`);
    }
    log('replaying through the full chain on one core');
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) =>
      execFile('taskset', ['-c', '0', process.execPath, '--import', 'tsx', __filename, '--replay-child', file], { maxBuffer: 1 << 20 }, (e, stdout, stderr) =>
        e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const r = JSON.parse(out.trim().split('\n').pop()!) as { records: number; spans: number; seconds: number };
    rows.push({
      measurement: 'full pipeline throughput from replay, one core',
      result: `${fmt(r.records / r.seconds)} records/s, ${fmt(r.spans / r.seconds)} spans/s`,
      how: `replay → ${CHAIN.join(' → ')} → nop, pinned with taskset to one core, ${REPLAY_RUNS} runs after a warm-up (${fmt(r.records / REPLAY_RUNS)} records → ${fmt(r.spans / REPLAY_RUNS)} spans each, flush at shutdown included); ${source}`,
    });
  } catch (e) {
    rows.push({ measurement: 'full pipeline throughput from replay, one core', result: 'failed', how: (e as Error).message.split('\n')[0] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function steadyRss(ebpfWhy: string | undefined): Promise<void> {
  const what = `espan RSS at a steady ${fmt(PACED_RATE)} req/s`;
  const missing = await missingTools('nginx');
  if (ebpfWhy || missing.length) {
    rows.push({ measurement: what, result: 'not measured', how: ebpfWhy ?? `not installed: ${missing.join(', ')}` });
    return;
  }
  const nginx = await startNginx({ 'index.html': '<html><body>' + 'espan '.repeat(90) + '</body></html>\n' });
  const espan = await startEspan(tracedChain('nginx'));
  try {
    const idleKb = espan.rssKb();
    await sleep(500);
    log(`paced load at ${PACED_RATE} req/s for ${PACED_SECONDS} s`);
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(espan.rssKb()), 1000);
    const cpu0 = espan.cpuMs();
    const load = await pacedHttp(nginx.port, '/index.html', { rate: PACED_RATE, seconds: PACED_SECONDS, connections: 64 });
    clearInterval(sampler);
    const espanCpu = espan.cpuMs() - cpu0;
    const c = await settledCounts(espan);
    // steady state: the second half of the run, once the chain's windows and heaps have filled
    const steady = samples.slice(Math.floor(samples.length / 2));
    const mb = (kb: number): string => (kb / 1024).toFixed(0);
    const rate = load.sent / load.seconds;
    rows.push({
      measurement: what,
      result: `${mb(median(steady))} MB (${mb(Math.min(...steady))}–${mb(Math.max(...steady))} MB over the last ${steady.length} s; ${mb(idleKb)} MB idle)`,
      how: `paced keep-alive GETs against nginx (64 connections) reaching ${fmt(rate)} req/s for ${PACED_SECONDS} s; full chain to nop tracing nginx; espan at ${((espanCpu / 1000 / load.seconds) * 100).toFixed(0)}% of a core`,
    });
    rows.push({
      measurement: `span completeness and drops at ${fmt(PACED_RATE)} req/s, nginx`,
      result: `${((c.spans / load.answered) * 100).toFixed(2)}% (${fmt(c.spans)} spans / ${fmt(load.answered)} requests); ${dropText(c.kernelDrops, c.pipelineDrops, [c.dropReasons])}`,
      how: `the paced run above; ${fmt(c.records / load.seconds)} records/s into espan${load.behind > 0 ? `; the schedule ended ${fmt(load.behind)} requests behind` : ''}`,
    });
  } finally {
    await espan.stop();
    await nginx.stop();
  }
}

function ebpfUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'eBPF needs root';
  try {
    preflight(defaultObjectPath());
    loadAddon();
    return undefined;
  } catch (e) {
    if (e instanceof EbpfUnavailableError) return `eBPF unavailable: ${e.message}`;
    throw e;
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--replay-child');
  if (i >= 0) return replayChild(process.argv[i + 1]);
  const t0 = performance.now();
  const ebpfWhy = ebpfUnavailable();
  if (ebpfWhy) log(`${ebpfWhy}: the eBPF rows are skipped`);
  await overhead(ebpfWhy);
  await replayThroughput(ebpfWhy);
  await steadyRss(ebpfWhy);
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [
    `Machine: ${machine()}; ${new Date().toISOString().slice(0, 10)}; took ${((performance.now() - t0) / 1000).toFixed(0)} s.`,
    '',
    '| measurement | result | how |',
    '|---|---|---|',
    ...rows.map((r) => `| ${cell(r.measurement)} | ${cell(r.result)} | ${cell(r.how)} |`),
  ];
  if (notes.length) lines.push('', ...notes);
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
