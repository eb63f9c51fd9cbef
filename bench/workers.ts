/**
 * The record-local stages on worker threads (service.pipelines.<id>.workers)
 * against the main thread alone: replays a capture through a chain, each run
 * in a fresh process, alternating the worker counts, and prints the medians
 * of spans per second (wall, start to shutdown) and CPU per span (every
 * thread of the process, and the main thread alone).
 *
 *   node dist/bench/workers.js FILE [--chain agent|all-in-one] [--workers 0,2] [--runs 3] [--copies K] [--digest]
 *
 * Each worker loads and compiles the stages anew, a fixed cost that a
 * capture of a few seconds does not amortise: --copies K replays K copies of
 * the capture one after the other, each copy's processes, threads,
 * connections and sequence numbers made distinct and its times shifted past
 * the previous copy's (and past linking's windows).
 *
 * --digest also replays each worker count into the file exporter and prints
 * the digest of its spans as bench/fingerprint.ts does (they must agree).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureWriter, readCapture } from '../core/capture/format';
import { parseConfig } from '../core/config/load';
import { copyRecord } from '../core/records/network-data';
import { Service } from '../core/service';
import { memoryLogger } from '../core/telemetry/logger';
import { defaultRegistry } from '../registry';
import { canonicalSpanLines, spanDigest } from '../test/helpers/canonical-spans';
import { cpuMsOf, median } from './lib/measure';
import { flag, numberOption, option } from './lib/options';
import { PROCESSORS } from './table/shared';

const CHAINS: Record<string, string[]> = {
  agent: ['parse', 'thread_correlation', 'propagation', 'span_builder', 'batch'],
  'all-in-one': ['parse', 'thread_correlation', 'propagation', 'span_builder', 'linking', 'tail_sampling'],
};

interface RunResult {
  workers: number;
  spans: number;
  wallS: number;
  cpuMs: number;
  mainCpuMs: number;
  digest?: string;
}

function yaml(file: string, chain: string[], workers: number, out?: string): string {
  return `receivers: {replay: {path: ${JSON.stringify(path.resolve(file))}}}
${PROCESSORS}  batch: {}
exporters: {${out ? `file: {path: ${JSON.stringify(out)}}` : 'nop: {}'}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [${chain.join(', ')}], exporters: [${out ? 'file' : 'nop'}], workers: ${workers}}}
`;
}

/** One run in this process: what the child prints. */
async function one(file: string, chain: string[], workers: number, digest: boolean): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-workers-'));
  const out = digest ? path.join(dir, 'spans.json') : undefined;
  try {
    const svc = new Service(parseConfig(yaml(file, chain, workers, out), 'workers.yaml', defaultRegistry(), {}), { logger: memoryLogger() });
    const cpu0 = process.cpuUsage();
    const main0 = cpuMsOf(`/proc/self/task/${process.pid}/stat`);
    const t0 = performance.now();
    await svc.start();
    await svc.receiversFinished();
    const report = await svc.shutdown();
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (report.failures.length) throw new Error(report.failures.join('; '));
    const spans = await svc.metrics.total('espan_processor_outgoing_items_total', { processor: 'span_builder' });
    const result: RunResult = { workers, spans, wallS, cpuMs: (cpu.user + cpu.system) / 1000, mainCpuMs: cpuMsOf(`/proc/self/task/${process.pid}/stat`) - main0 };
    if (out) {
      const lines = canonicalSpanLines(fs.readFileSync(out, 'utf8'));
      result.digest = `${lines.length} spans, digest ${spanDigest(lines)}`;
    }
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** K copies of a capture back to back, as distinct processes and connections: a longer run of the same traffic. */
async function copies(file: string, k: number, out: string): Promise<void> {
  let first = Infinity;
  let last = 0;
  for await (const batch of readCapture(file)) for (const r of batch) (first = Math.min(first, r.ts)), (last = Math.max(last, r.tsTail));
  const shift = last - first + 60e9;
  const writer = new CaptureWriter(out, 'bench/workers');
  for (let c = 0; c < k; c++) {
    for await (const batch of readCapture(file)) {
      writer.write(
        batch.map((r) => ({
          ...copyRecord(r),
          ts: r.ts + c * shift,
          tsTail: r.tsTail + c * shift,
          pid: r.pid + c * 100_000,
          tid: r.tid + c * 100_000,
          // uni_id's last word (prandom) names the connection apart
          connId: r.connId.slice(0, 24) + ((parseInt(r.connId.slice(24), 16) ^ c) >>> 0).toString(16).padStart(8, '0'),
          tcpSeq: (r.tcpSeq + c * 7919) >>> 0,
        })),
      );
    }
  }
  writer.close();
}

function child(args: string[]): RunResult {
  return JSON.parse(execFileSync(process.execPath, [__filename, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 })) as RunResult;
}

async function main(): Promise<void> {
  let file = process.argv[2];
  const chainName = option('chain') ?? 'agent';
  const chain = CHAINS[chainName];
  if (!file || !chain) throw new Error(`usage: workers FILE [--chain ${Object.keys(CHAINS).join('|')}] [--workers 0,2] [--runs 3] [--digest]`);
  const single = option('one');
  if (single !== undefined) {
    process.stdout.write(JSON.stringify(await one(file, chain, Number(single), flag('digest'))));
    return;
  }
  const original = file;
  const k = numberOption('copies', 1);
  if (k > 1) {
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'espan-workers-')), `${path.basename(file, '.espcap')}-x${k}.espcap`);
    await copies(file, k, copy);
    process.on('exit', () => fs.rmSync(path.dirname(copy), { recursive: true, force: true }));
    file = copy;
  }
  const counts = (option('workers') ?? '0,2').split(',').map(Number);
  const runs = numberOption('runs', 3);
  const results = new Map<number, RunResult[]>(counts.map((n) => [n, []]));
  for (let r = 0; r < runs; r++) for (const n of counts) results.get(n)!.push(child([file, '--chain', chainName, '--one', String(n)]));
  console.log(`${chainName} chain, ${path.basename(file)}, ${os.cpus().length} cores, median of ${runs} runs each (alternated)`);
  console.log('workers   spans   spans/s (wall)   CPU µs/span (all threads)   main thread µs/span');
  for (const n of counts) {
    const rs = results.get(n)!;
    const spans = rs[0].spans;
    const line = [
      String(n).padStart(7),
      String(spans).padStart(7),
      Math.round(median(rs.map((x) => x.spans / x.wallS))).toString().padStart(16),
      median(rs.map((x) => (x.cpuMs * 1000) / x.spans)).toFixed(1).padStart(27),
      median(rs.map((x) => (x.mainCpuMs * 1000) / x.spans)).toFixed(1).padStart(21),
    ];
    console.log(line.join(' '));
  }
  if (flag('digest')) {
    // of the capture as given: its digest is the one bench/fingerprint.ts prints
    for (const n of counts) console.log(`workers ${n}: ${child([original, '--chain', chainName, '--one', String(n), '--digest']).digest}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
