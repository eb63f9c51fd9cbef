/**
 * thread_correlation alone on one core: a capture parsed once into message
 * batches (512 records each), then the batches through a fresh
 * ThreadCorrelator per round (default settings; held calls all decided at
 * the end), in ns of CPU per message; median of the rounds after the first
 * (warm-up). Prints a digest of the thread trace ids and the calls' results,
 * which must not change with an optimisation. The stage table's figure for
 * the stage is the difference of two whole pipelines (+-2 us); this is the
 * stage's own cost, without the garbage collections of the calls it holds:
 * every message stays in memory here.
 *
 * With --stream, rounds alternate the capture read and parsed batch by batch
 * (1,024 records, as the replay receiver hands them) with each batch's
 * messages dropped after parse, and the same with each batch through
 * thread_correlation too, as in a pipeline: the difference per message
 * counts the collections of the calls held (they outlive the young
 * generation), without the pipeline's own cost per stage.
 *
 * With --alloc, one more round (of the batches in memory) under V8's
 * sampling heap profiler gives the bytes the stage allocates per message and
 * where, as caller < allocating function (collected objects included; the
 * harness's own loop among them).
 *
 *   taskset -c 0 node dist/bench/thread-correlation.js FILE [--rounds 7] [--stream | --alloc]
 */
import { createHash } from 'node:crypto';
import { Session } from 'node:inspector';
import { readCapture } from '../core/capture/format';
import type { L7Message } from '../core/signals';
import { ParseEngine } from '../processors/parse/processor';
import { resolveConfig } from '../core/config/schema';
import { schema, type ThreadCorrelationConfig } from '../processors/thread_correlation/config';
import { ThreadCorrelator, type CorrelateCounters } from '../processors/thread_correlation/correlate';
import { correlateOptions } from '../processors/thread_correlation/factory';
import type { CallResult } from '../processors/thread_correlation/timeline';
import { defaultSettings } from '../test/helpers/parse';
import { median } from './lib/measure';
import { flag, numberOption } from './lib/options';

function parseEngine(): ParseEngine {
  return new ParseEngine(defaultSettings({ protocols: ['http', 'http2', 'redis', 'mysql', 'postgresql'] }));
}

async function messageBatches(file: string): Promise<L7Message[][]> {
  const engine = parseEngine();
  const batches: L7Message[][] = [];
  for await (const records of readCapture(file, { batchSize: 512 })) batches.push(engine.add(records, 0));
  batches.push(engine.flush());
  return batches.filter((b) => b.length > 0);
}

/** thread_correlation's defaults, as an empty block in a pipeline gives them */
const DEFAULT_OPTIONS = correlateOptions(resolveConfig<ThreadCorrelationConfig>(schema, {}).config!);

/** One round: CPU µs, and the calls' results. */
function correlate(batches: readonly L7Message[][]): { cpuUs: number; calls: Partial<Record<CallResult, number>> } {
  const calls: Partial<Record<CallResult, number>> = {};
  const counters: CorrelateCounters = { call: (r, n) => (calls[r] = (calls[r] ?? 0) + n), evicted: () => {}, timelines: () => {} };
  const correlator = new ThreadCorrelator(DEFAULT_OPTIONS, counters);
  const cpu0 = process.cpuUsage();
  for (const b of batches) correlator.add(b, 0);
  correlator.flush();
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: cpu.user + cpu.system, calls };
}

/** CPU µs of reading and parsing `file` batch by batch, each batch's messages then through `correlator` when given, then dropped. */
async function streamRound(file: string, correlator: ThreadCorrelator | undefined): Promise<{ cpuUs: number; messages: number }> {
  const engine = parseEngine();
  let messages = 0;
  const cpu0 = process.cpuUsage();
  for await (const records of readCapture(file, { batchSize: 1024 })) {
    const batch = engine.add(records, 0);
    messages += batch.length;
    correlator?.add(batch, 0);
  }
  messages += engine.flush().length;
  correlator?.flush();
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: cpu.user + cpu.system, messages };
}

async function stream(file: string, rounds: number): Promise<void> {
  const differences: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    // in either order by turns: a round's garbage is collected in the next
    const parseFirst = r % 2 === 0;
    const first = await streamRound(file, parseFirst ? undefined : new ThreadCorrelator(DEFAULT_OPTIONS));
    const second = await streamRound(file, parseFirst ? new ThreadCorrelator(DEFAULT_OPTIONS) : undefined);
    const [parse, correlated] = parseFirst ? [first, second] : [second, first];
    if (r > 0) differences.push(((correlated.cpuUs - parse.cpuUs) * 1000) / parse.messages);
  }
  console.log(`stream: thread_correlation ${median(differences).toFixed(0)} ns CPU per message over parse alone (rounds ${differences.map((x) => x.toFixed(0)).join(' ')})`);
}

/** Bytes allocated by one round, by allocating function and its caller (V8's sampling heap profiler, collected objects included). */
async function allocations(batches: readonly L7Message[][]): Promise<{ total: number; top: Array<[string, number]> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<any> => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  correlate(batches);
  const { profile } = await post('HeapProfiler.stopSampling');
  session.disconnect();
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (n: any, caller: string): void => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    const size = n.selfSize as number;
    total += size;
    if (size) bySite.set(`${caller} < ${name}`, (bySite.get(`${caller} < ${name}`) ?? 0) + size);
    for (const c of n.children) walk(c, name);
  };
  walk(profile.head, '');
  return { total, top: [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 20) };
}

async function main(file: string | undefined, rounds: number): Promise<void> {
  if (!file) throw new Error('usage: thread-correlation FILE [--rounds 7] [--stream | --alloc]');
  if (flag('stream')) return stream(file, rounds);
  const batches = await messageBatches(file);
  const messages = batches.reduce((n, b) => n + b.length, 0);
  const ns: number[] = [];
  let calls = {};
  for (let r = 0; r <= rounds; r++) {
    const round = correlate(batches);
    if (r > 0) ns.push((round.cpuUs * 1000) / messages);
    calls = round.calls;
  }
  const ids = createHash('sha256');
  for (const b of batches) for (const m of b) ids.update(`${m.threadTraceId ?? '-'}\n`);
  console.log(`${messages} messages: ${median(ns).toFixed(0)} ns CPU per message (rounds ${ns.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`thread trace ids ${ids.digest('hex').slice(0, 16)}, calls ${JSON.stringify(calls)}`);
  if (!flag('alloc')) return;
  const a = await allocations(batches);
  console.log(`~${(a.total / messages).toFixed(0)} B allocated per message (sampled), by caller < function:`);
  for (const [site, bytes] of a.top) console.log(`  ${(bytes / messages).toFixed(1).padStart(6)}  ${site}`);
}

main(process.argv[2], numberOption('rounds', 7)).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
