/**
 * Linker throughput on one core: linking + tail sampling + OTLP protobuf
 * serialisation, in spans/s; OTLP decoding is timed too and reported apart.
 * Figures, not assertions:
 *
 *   node --import tsx bench/link-sample.ts [spans] [capture-base] [--role linker|all-in-one] [--memory]
 *
 * The spans come from a replayed capture: bench/testdata/linking-two-hosts
 * (.espcap: eBPF records of two network namespaces, front in A calling back
 * in B calling front again, recorded by test/linking/record-capture.ts;
 * .sdk.json: the spans of the SDK-instrumented client that drove it), or
 * any capture given by its path without `.espcap` (its `.sdk.json`, if
 * any, added: `/work/demo` replays /work/demo.espcap). The records go
 * through parse → thread_correlation → propagation → espan once, untimed;
 * the resulting eSpans plus the SDK spans are then repeated with shifted
 * times and rewritten link keys and ids (hex ids stay hex, so they are
 * packed as the linker packs real ones) until `spans` is reached, arriving
 * in batches of 512 in end-time order, as agents send them. A capture
 * shorter than the link windows (the demo's 8 s) comes out of a replay
 * mostly at shutdown; repeated here, its traces leave as windows close,
 * as they do in a running linker.
 *
 * Two ways in: as the linker role receives them (OTLP requests of 512
 * spans, written by the agents outside the timed part, read by the linker
 * inside it), and as the all-in-one role hands them over (span objects from
 * the espan stage in the same process).
 *
 * With --memory, instead: the linker's own state with linking's defaults
 * while the spans arrive at 10k/s (span time and clock, as the RSS row
 * paces nginx) for 30 s, by column: bytes of its typed arrays on pages
 * written so far (a page never written reads as zeros and is not
 * resident: they are made at their capacity at once), 8 an element of its
 * arrays.
 */
import { projectRoot } from '../core/project-root';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lastValueFrom, from, toArray, type OperatorFunction } from 'rxjs';
import type { ComponentContext, ProcessorFactory } from '../core/component';
import { resolveConfig } from '../core/config/schema';
import { decodeTraceRequest, encodeTraceRequest, flattenTraces, fromOtlpJson } from '../core/otlp';
import { ESPAN } from '../core/semconv';
import type { NetworkRecord, Span, Trace } from '../core/signals';
import { componentTelemetry, ServiceMetrics } from '../core/telemetry/metrics';
import { spanBuilderFactory } from '../processors/span_builder/factory';
import { schema as linkingSchema, type LinkingConfig } from '../processors/linking/config';
import { Linker } from '../processors/linking/linker';
import { parseFactory } from '../processors/parse/factory';
import { propagationFactory } from '../processors/propagation/factory';
import { threadCorrelationFactory } from '../processors/thread_correlation/factory';
import { schema as samplingSchema, type TailSamplingConfig } from '../processors/tail_sampling/config';
import { TailSampler } from '../processors/tail_sampling/sampler';
import { replayFactory } from '../receivers/replay/factory';
import { testContext } from '../test/helpers/context';
import { flag, option } from './lib/options';

const BATCH = 512;
/** send_batch_max_size (spans) of the batch processor before the exporter in examples/linker.yaml */
const SPANS_PER_REQUEST = 2048;
/** simulated offered load: how fast span time moves */
const SPANS_PER_SECOND = 100_000;
/** linking as the linker role would run it; every held window is heap the collector walks */
const LINKING = { link_window: 500, link_windows: 2, max_clock_skew: 100, max_spans: 400_000, max_recent_links: 100_000 };
/** linking already waited for the windows, so whole traces arrive: the sampler need not wait long */
const DECISION_WAIT = '0s';

function context(id: string): ComponentContext {
  return testContext('processor', id);
}

function operator(factory: ProcessorFactory, raw: Record<string, unknown> = {}): OperatorFunction<any[], any[]> {
  const { config, problems } = resolveConfig(factory.schema, raw);
  if (!config) throw new Error(`${factory.type}: ${JSON.stringify(problems)}`);
  return factory.create(config, context(factory.type)).operator;
}

/** The capture's records through the agent's stages, once: the eSpans a linker would receive. */
async function spansFromCapture(base: string): Promise<Span[]> {
  const { config } = resolveConfig<any>(replayFactory.schema, { path: `${base}.espcap` });
  const replay = replayFactory.create(config, { ...context('replay'), kind: 'receiver' });
  const records = lastValueFrom(replay.output.pipe(toArray()));
  await replay.start({ waitForCapacity: async () => {} });
  const batches = (await records) as NetworkRecord[][];
  let stream = from(batches) as any;
  for (const op of [operator(parseFactory), operator(threadCorrelationFactory), operator(propagationFactory), operator(spanBuilderFactory)]) stream = stream.pipe(op);
  const spans = ((await lastValueFrom(stream.pipe(toArray()))) as Span[][]).flat();
  const sdkFile = `${base}.sdk.json`;
  const sdk = fs.existsSync(sdkFile) ? fromOtlpJson(JSON.parse(fs.readFileSync(sdkFile, 'utf8'))) : [];
  return [...spans, ...sdk];
}

/** `s` (Latin-1: ids, connection keys) as one flat string: a string joined of parts is a rope, which the linker would flatten (a cost of the copy, not of linking) */
const flat = (s: string): string => Buffer.from(s, 'latin1').toString('latin1');

const idFor = (c: number, id: string | undefined): string | undefined => (id ? flat(c.toString(16).padStart(6, '0') + id.slice(6)) : id);

/**
 * Copy `c` of a span: its own link keys and ids, `shift` ns later. Every
 * other copy says its upstream sampler decided "not sampled", so the
 * `propagated` policy keeps half.
 */
function copyOf(s: Span, c: number, shift: bigint): Span {
  const a = { ...s.attributes };
  if (typeof a[ESPAN.CONN_KEY] === 'string') a[ESPAN.CONN_KEY] = flat(`${a[ESPAN.CONN_KEY]}~${c}`);
  if (typeof a[ESPAN.THREAD_TRACE_ID] === 'string') a[ESPAN.THREAD_TRACE_ID] = idFor(c, a[ESPAN.THREAD_TRACE_ID] as string)!;
  if (a[ESPAN.PROPAGATED_SAMPLED] !== undefined) a[ESPAN.PROPAGATED_SAMPLED] = c % 2 === 0;
  return {
    ...s,
    traceId: s.traceId ? flat(c.toString(16).padStart(8, '0') + s.traceId.slice(8)) : '',
    spanId: idFor(c, s.spanId)!,
    parentSpanId: idFor(c, s.parentSpanId),
    startTimeUnixNano: s.startTimeUnixNano + shift,
    endTimeUnixNano: s.endTimeUnixNano + shift,
    attributes: a,
  };
}

/** The capture's spans grouped by the trace linking makes of them: the unit that is repeated. */
function traceUnits(base: Span[]): Span[][] {
  const byCopyId = new Map(base.map((s) => [idFor(0, s.spanId)!, s]));
  const linker = new Linker({ ...LINKING, link_window: 60_000 }, () => 0);
  linker.add(base.map((s) => copyOf(s, 0, 0n)));
  return linker.flush().map((t) => t.spans.map((s) => byCopyId.get(s.spanId)!));
}

const T0 = 1_700_000_000_000_000_000n;

/** A span to be made: copy `c` of `span`, `shift` ns later, ending at `end`. */
interface Arrival {
  span: Span;
  c: number;
  shift: bigint;
  end: bigint;
}

const make = (a: Arrival): Span => copyOf(a.span, a.c, a.shift);

/**
 * `total` spans: the capture's traces one after another at SPANS_PER_SECOND
 * (each copy of a trace keeps its own timing), chunk by chunk in end-time
 * order. The spans themselves are made batch by batch just before they are
 * handed over, as the agent stages make them: fresh in the cache, and memory
 * holds what the linker and sampler hold, not the whole run.
 */
function* arrivals(units: Span[][], total: number, spansPerSecond = SPANS_PER_SECOND): Generator<Arrival[]> {
  let pending: Arrival[] = [];
  let produced = 0;
  let at = 0n;
  for (let c = 0; produced < total; c++) {
    const unit = units[c % units.length];
    let first = unit[0].startTimeUnixNano;
    for (const s of unit) if (s.startTimeUnixNano < first) first = s.startTimeUnixNano;
    const shift = T0 + at - first;
    for (const s of unit) pending.push({ span: s, c: c + 1, shift, end: s.endTimeUnixNano + shift });
    produced += unit.length;
    at += BigInt(Math.round((unit.length / spansPerSecond) * 1e9));
    if (pending.length >= 20_000 || produced >= total) {
      pending.sort((x, y) => (x.end < y.end ? -1 : 1));
      // hold back what ends after the next trace starts: later traces may end before it
      const cut = produced >= total ? pending.length : pending.findIndex((a) => a.end > T0 + at);
      const n = cut < 0 ? pending.length : cut;
      yield pending.slice(0, n);
      pending = pending.slice(n);
    }
  }
  if (pending.length) yield pending;
}

function samplingConfig(policies: unknown[]): TailSamplingConfig {
  const { config, problems } = resolveConfig<TailSamplingConfig>(samplingSchema, { decision_wait: DECISION_WAIT, num_traces: 200000, policies });
  if (!config) throw new Error(JSON.stringify(problems));
  return config;
}

const TYPICAL = [
  { name: 'no-health', type: 'drop', drop: { drop_sub_policy: [{ name: 'health', type: 'string_attribute', string_attribute: { key: 'url.path', values: ['/health', '/ready'] } }] } },
  { name: 'propagated', type: 'propagated' },
  { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
  { name: 'slow', type: 'latency', latency: { threshold_ms: 500 } },
  { name: 'some', type: 'probabilistic', probabilistic: { sampling_percentage: 10 } },
];

interface Result {
  /** CPU-seconds of the timed stages, decoding included (process.cpuUsage: includes the garbage collector's threads) */
  cpuSeconds: number;
  spansIn: number;
  spansOut: number;
  seconds: number;
  link: number;
  sample: number;
  encode: number;
  /** ms reading the OTLP requests (linker role only; not part of `seconds`) */
  decode: number;
  bytes: number;
  traces: number;
}

type Role = 'linker' | 'all-in-one';

function run(units: Span[][], total: number, policies: unknown[], role: Role): Result {
  const clock = { t: 0 };
  const tel = componentTelemetry(new ServiceMetrics(), 'processor', 'bench');
  const linker = new Linker(LINKING, () => clock.t, tel);
  const sampler = new TailSampler(samplingConfig(policies), { now: () => clock.t }, tel);
  let link = 0;
  let sample = 0;
  let encode = 0;
  let decode = 0;
  let bytes = 0;
  let spansOut = 0;
  let traces = 0;
  let spansIn = 0;
  const msPerBatch = (BATCH / SPANS_PER_SECOND) * 1000;
  let cpu = 0;
  // a window's traces leave linking at once; requests are cut as examples/linker.yaml's batch processor cuts them
  const send = (traces: Trace[]): void => {
    const flat = flattenTraces(traces);
    bytes += encodeTraceRequest(flat).length;
    spansOut += flat.length;
  };
  const exportSampled = (sampled: Trace[]): void => {
    const t = performance.now();
    let request: Trace[] = [];
    let spans = 0;
    for (const trace of sampled) {
      if (request.length && spans + trace.spans.length > SPANS_PER_REQUEST) {
        send(request);
        request = [];
        spans = 0;
      }
      request.push(trace);
      spans += trace.spans.length;
    }
    if (request.length) send(request);
    encode += performance.now() - t;
  };
  const step = (linked: Trace[], final: boolean): void => {
    traces += linked.length;
    const t = performance.now();
    const sampled = sampler.add(linked);
    for (const s of final ? sampler.flush() : sampler.tick()) sampled.push(s);
    sample += performance.now() - t;
    exportSampled(sampled);
  };
  for (const chunk of arrivals(units, total)) {
    const batches: Arrival[][] = [];
    for (let i = 0; i < chunk.length; i += BATCH) batches.push(chunk.slice(i, i + BATCH));
    // the agents' work, untimed: each batch one OTLP request
    const requests = role === 'linker' ? batches.map((b) => encodeTraceRequest(b.map(make))) : [];
    for (let i = 0; i < batches.length; i++) {
      // the all-in-one role's spans come from the agent stages just before, untimed
      const made = role === 'linker' ? undefined : batches[i].map(make);
      // no forced collection between batches: it upsets V8's heap sizing and slows every stage that follows
      const cpu0 = process.cpuUsage();
      let batch: Span[];
      if (made) batch = made;
      else {
        const t = performance.now();
        batch = decodeTraceRequest(requests[i]);
        decode += performance.now() - t;
      }
      spansIn += batch.length;
      clock.t += msPerBatch;
      const t = performance.now();
      const linked = linker.add(batch);
      link += performance.now() - t;
      step(linked, false);
      const used = process.cpuUsage(cpu0);
      cpu += (used.user + used.system) / 1e6;
    }
  }
  const cpu1 = process.cpuUsage();
  const t = performance.now();
  const rest = linker.flush();
  link += performance.now() - t;
  step(rest, true);
  const used = process.cpuUsage(cpu1);
  cpu += (used.user + used.system) / 1e6;
  return { cpuSeconds: cpu, spansIn, spansOut, seconds: (link + sample + encode) / 1000, link, sample, encode, decode, bytes, traces };
}

function report(role: Role, label: string, r: Result): void {
  const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000) / 1000)}k`;
  const withDecode = role === 'linker' ? `; with OTLP decoding ${rate(r.spansIn, r.seconds * 1000 + r.decode)} spans/s` : '';
  console.log(
    `${role}, ${label}: ${rate(r.spansIn, r.seconds * 1000)} spans/s through linking + sampling + OTLP${withDecode}; ${rate(r.spansIn, r.cpuSeconds * 1000)} per CPU-second of the timed stages${role === 'linker' ? ' and decoding' : ''} ` +
      `(${r.spansIn} spans in, ${r.traces} traces, ${r.spansOut} kept, ${(r.bytes / Math.max(1, r.spansOut)).toFixed(0)} B/span)\n` +
      `    ${role === 'linker' ? `OTLP decode ${rate(r.spansIn, r.decode)} spans/s, ` : ''}linking ${rate(r.spansIn, r.link)} spans/s, tail sampling ${rate(r.spansIn, r.sample)} spans/s, ` +
      `OTLP encode ${r.spansOut ? rate(r.spansOut, r.encode) : 0} kept spans/s`,
  );
}

/** Bytes of `root`'s typed arrays on pages holding a nonzero byte, and 8 an element of its arrays, by path. */
function residentBytes(root: object): Array<[string, number]> {
  const rows: Array<[string, number]> = [];
  const seen = new Set<object>();
  const walk = (value: unknown, path: string): void => {
    if (!value || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    if (ArrayBuffer.isView(value)) {
      const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      let written = 0;
      for (let page = 0; page < bytes.length; page += 4096) {
        const end = Math.min(bytes.length, page + 4096);
        for (let i = page; i < end; i++) {
          if (bytes[i] !== 0) {
            written += end - page;
            break;
          }
        }
      }
      rows.push([path, written]);
    } else if (Array.isArray(value)) {
      rows.push([path, value.length * 8]);
    } else if (!(value instanceof Map) && !(value instanceof Set)) {
      for (const [key, v] of Object.entries(value)) walk(v, `${path}.${key}`);
    }
  };
  walk(root, 'linker');
  return rows.filter(([, bytes]) => bytes > 0).sort((a, b) => b[1] - a[1]);
}

const MEMORY_RATE = 10_000;
const MEMORY_SECONDS = 30;

function memory(units: Span[][]): void {
  const { config } = resolveConfig<LinkingConfig>(linkingSchema, {});
  const clock = { t: 0 };
  const linker = new Linker(config!, () => clock.t);
  let most = 0;
  for (const chunk of arrivals(units, MEMORY_RATE * MEMORY_SECONDS, MEMORY_RATE)) {
    for (let i = 0; i < chunk.length; i += BATCH) {
      const batch = chunk.slice(i, i + BATCH);
      clock.t += (batch.length / MEMORY_RATE) * 1000;
      linker.add(batch.map(make));
      most = Math.max(most, linker.size);
    }
  }
  const rows = residentBytes(linker);
  const mb = (bytes: number) => (bytes / 1e6).toFixed(2);
  console.log(
    `linker state after ${MEMORY_SECONDS} s at ${MEMORY_RATE / 1000}k spans/s (linking's defaults; ${linker.size} spans held, ${most} at most): ` +
      `${mb(rows.reduce((sum, [, bytes]) => sum + bytes, 0))} MB on written pages and in arrays`,
  );
  for (const [path, bytes] of rows.slice(0, 16)) console.log(`  ${mb(bytes).padStart(6)} MB  ${path}`);
}

async function main(): Promise<void> {
  const role = option('role') as Role | undefined;
  const roles: Role[] = role ? [role] : ['linker', 'all-in-one'];
  const [totalArg, captureArg] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--role');
  const total = Number(totalArg ?? 300_000);
  const capture = path.resolve(captureArg ?? path.join(projectRoot(), 'bench', 'testdata', 'linking-two-hosts'));
  const base = await spansFromCapture(capture);
  const units = traceUnits(base);
  if (flag('memory')) return memory(units);
  console.log(
    `capture: ${base.length} spans (${base.filter((s) => s.attributes[ESPAN.CAPTURED]).length} eBPF, ${base.filter((s) => !s.attributes[ESPAN.CAPTURED]).length} SDK) → ` +
      `${units.length} traces of ${[...new Set(units.map((u) => u.length))].join('/')} spans; offered at ${SPANS_PER_SECOND / 1000}k spans/s of span time`,
  );
  const ALL = [{ name: 'all', type: 'always_sample' }];
  for (const role of roles) {
    // warm-up so the JIT has settled before anything is timed
    run(units, 40_000, ALL, role);
    report(role, 'always_sample (every span serialised)', run(units, total, ALL, role));
    report(role, 'typical policies (drop, propagated, errors, slow, 10%)', run(units, total, TYPICAL, role));
  }

  // the same spans through OTLP encoding alone: the reference to compare with on a shared machine
  const sample = base.map((s) => ({ ...s, traceId: s.traceId || '0af7651916cd43dd8448eb211c80319c' }));
  let encoded = 0;
  const e0 = performance.now();
  while (performance.now() - e0 < 2000) {
    encodeTraceRequest(sample);
    encoded += sample.length;
  }
  console.log(`reference: OTLP protobuf encoding alone of the same spans: ${Math.round(encoded / ((performance.now() - e0) / 1000) / 1000)}k spans/s`);
  // a fixed loop: how fast this (shared) core is right now, to compare runs
  const l0 = performance.now();
  let x = 0;
  for (let i = 0; i < 1e7; i++) x += i % 7;
  console.log(`calibration: 1e7-iteration loop in ${(performance.now() - l0).toFixed(0)} ms${x < 0 ? '' : ''}`);
  const mem = process.memoryUsage();
  console.log(`heap used ${(mem.heapUsed / 1e6).toFixed(0)} MB, rss ${(mem.rss / 1e6).toFixed(0)} MB`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
