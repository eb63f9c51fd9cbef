/**
 * parse alone on one core: a capture read in record batches (512 records
 * each) through a fresh ParseEngine per round (the processor's default
 * config, as an empty `parse:` block gives it), each batch parsed as it is
 * read and only the parsing timed (fresh records, their bytes just read and
 * their connection strings decoded when parse first asks, as in a
 * pipeline; the messages dropped after each batch, as to nop), in ns of
 * CPU per message, median of the rounds after the first
 * (warm-up); with --alloc, one more round under V8's sampling heap profiler
 * gives the bytes allocated per message and the functions that allocate
 * most. Prints a digest of every message, which must not change with an
 * optimisation. The stage table's figure for parse is the
 * difference of two whole pipelines (+-2 us); this is the stage's own cost.
 *
 *   taskset -c 0 node dist/bench/parse-capture.js FILE [--rounds 7] [--alloc]
 */
import { createHash } from 'node:crypto';
import { Session } from 'node:inspector';
import { readCapture } from '../core/capture/format';
import { resolveConfig } from '../core/config/schema';
import type { L7Message } from '../core/signals';
import { schema, settingsFrom, type ParseConfig } from '../processors/parse/factory';
import { ParseEngine } from '../processors/parse/processor';
import { median } from './lib/measure';
import { flag, numberOption } from './lib/options';

const SETTINGS = settingsFrom(resolveConfig<ParseConfig>(schema, {}).config!);

/**
 * One round: each batch parsed as it is read (its bytes fresh in the cache,
 * as the replay receiver leaves them), only the parsing timed; the messages
 * go into a digest of every field (the host left out: one object per
 * capture) and are dropped, as a pipeline to nop would. CPU µs, messages,
 * and the digest.
 */
async function parse(file: string): Promise<{ cpuUs: number; records: number; messages: number; digest: string }> {
  const engine = new ParseEngine(SETTINGS);
  const hash = createHash('sha256');
  const replacer = (k: string, v: unknown): unknown => (k === 'host' ? undefined : v === undefined ? null : v);
  let cpuUs = 0;
  let records = 0;
  let messages = 0;
  const timed = (f: () => L7Message[]): void => {
    const cpu0 = process.cpuUsage();
    const out = f();
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
    messages += out.length;
    for (const m of out) hash.update(JSON.stringify(m, replacer)).update('\n');
  };
  for await (const b of readCapture(file, { batchSize: 512 })) {
    records += b.length;
    timed(() => engine.add(b, 0));
  }
  timed(() => engine.flush());
  return { cpuUs, records, messages, digest: hash.digest('hex').slice(0, 16) };
}

/** Bytes allocated in one more round, by the function that allocated them (V8's sampling heap profiler, collected objects included). */
async function allocations(file: string): Promise<{ total: number; top: Array<[string, number]> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<any> => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await parse(file);
  const { profile } = await post('HeapProfiler.stopSampling');
  session.disconnect();
  const byFunction = new Map<string, number>();
  let total = 0;
  const walk = (n: any): void => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    const size = n.selfSize as number;
    total += size;
    if (size) byFunction.set(name, (byFunction.get(name) ?? 0) + size);
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  return { total, top: [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25) };
}

async function main(file: string | undefined, rounds: number, alloc: boolean): Promise<void> {
  if (!file) throw new Error('usage: parse-capture FILE [--rounds 7] [--alloc]');
  const ns: number[] = [];
  let last = { records: 0, messages: 0, digest: '' };
  for (let r = 0; r <= rounds; r++) {
    const round = await parse(file);
    if (r > 0) ns.push((round.cpuUs * 1000) / round.messages);
    last = round;
  }
  console.log(`${last.records} records, ${last.messages} messages: ${median(ns).toFixed(0)} ns CPU per message (rounds ${ns.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`messages ${last.digest}`);
  if (alloc) {
    const a = await allocations(file);
    console.log(`~${(a.total / last.messages).toFixed(0)} B allocated per message (sampled), by function:`);
    for (const [name, size] of a.top) console.log(`  ${(size / last.messages).toFixed(1).padStart(8)}  ${name}`);
  }
}

main(process.argv[2], numberOption('rounds', 7), flag('alloc')).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
