/**
 * Linker throughput on one core: linking + tail sampling + OTLP protobuf
 * serialisation, in spans/s, over eSpans as the agent sends them (link keys
 * and HTTP/Redis attributes, ~14 attributes each). Figures, not assertions:
 * `node --import tsx bench/link-sample.ts [spans]`.
 *
 * Each trace is a two-host chain: a client on host A calls a service on host
 * B (network rule), which makes a Redis and an HTTP call while serving it
 * (in-process rule); 10% carry a propagated W3C context. Spans arrive in
 * batches of 512, shuffled within a few batches, with span time advancing at
 * the offered rate so windows close by span time as they would live.
 */
import { ESPAN } from '../core/semconv';
import { encodeTraceRequest, flattenTraces } from '../core/otlp';
import { SpanKind, StatusCode, type Resource, type Span, type Trace } from '../core/signals';
import { componentTelemetry, ServiceMetrics } from '../core/telemetry/metrics';
import { resolveConfig } from '../core/config/schema';
import { Linker } from '../processors/linking/linker';
import { TailSampler } from '../processors/tail_sampling/sampler';
import { schema as samplingSchema, type TailSamplingConfig } from '../processors/tail_sampling/config';

const BATCH = 512;
/** short windows: at 100k spans/s every held window is 50k spans of heap for the collector to walk */
const LINK_WINDOW_MS = 250;
/** linking already waited for the windows: whole traces arrive, so the sampler need not wait long */
const DECISION_WAIT = '0s';
/** simulated offered load: decides how fast span time moves per batch */
const TRACES_PER_SECOND = 25_000;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');

const RESOURCES: Resource[] = [
  { attributes: { 'service.name': 'front', 'host.name': 'node-a', 'process.pid': 101 } },
  { attributes: { 'service.name': 'orders', 'host.name': 'node-b', 'process.pid': 202 } },
];
const SCOPE = { name: 'espan', version: '0.1.0' };

function makeSpans(from: number, traces: number, seed = 7): Span[] {
  const rnd = prng(seed + from);
  const spans: Span[] = [];
  const t0 = 1_700_000_000_000_000_000;
  let id = from * 4 + 1;
  for (let i = from; i < from + traces; i++) {
    const start = t0 + Math.floor((i / TRACES_PER_SECOND) * 1e9);
    const dur = 2_000_000 + Math.floor(rnd() * 8_000_000);
    const error = rnd() < 0.02;
    const port = 30000 + (i % 30000);
    const conn = `10.0.0.1:${port}-10.0.0.2:8080`;
    const seq = Math.floor(rnd() * 0xffffffff);
    const thread = hex16(i * 7919 + 1) + hex16(i);
    const propagated = rnd() < 0.1;
    const common = (host: string, kind: SpanKind, s: number, d: number, name: string, extra: Record<string, string | number | boolean>): Span => ({
      traceId: '',
      spanId: hex16(id++),
      name,
      kind,
      startTimeUnixNano: BigInt(s),
      endTimeUnixNano: BigInt(s + d),
      attributes: { [ESPAN.CAPTURED]: true, [ESPAN.HOST_ID]: host, [ESPAN.NETNS]: 4026531840, [ESPAN.TID]: 1000 + (i % 8), ...extra },
      events: [],
      links: [],
      status: { code: error && kind === SpanKind.SERVER ? StatusCode.ERROR : StatusCode.UNSET },
      resource: RESOURCES[host === 'node-a' ? 0 : 1],
      scope: SCOPE,
    });
    const http = { 'http.request.method': 'GET', 'url.path': `/orders/${i % 1000}`, 'http.response.status_code': error ? 500 : 200, 'server.address': '10.0.0.2', 'server.port': 8080 };
    const client = common('node-a', SpanKind.CLIENT, start, dur + 400_000, 'GET', { ...http, [ESPAN.CONN_KEY]: conn, [ESPAN.REQ_SEQ]: seq });
    const server = common('node-b', SpanKind.SERVER, start + 150_000, dur, 'GET /orders/{id}', {
      ...http,
      [ESPAN.CONN_KEY]: conn,
      [ESPAN.REQ_SEQ]: seq,
      [ESPAN.THREAD_TRACE_ID]: thread,
    });
    if (propagated) {
      client.traceId = server.traceId = hex16(i + 1) + hex16(seq + 1);
      server.parentSpanId = client.spanId;
      server.attributes[ESPAN.PROPAGATION] = 'w3c';
      server.attributes[ESPAN.PROPAGATED_SAMPLED] = rnd() < 0.5;
    }
    const redis = common('node-b', SpanKind.CLIENT, start + 300_000, 200_000, 'GET', {
      'db.system.name': 'redis',
      'db.operation.name': 'GET',
      'server.address': '10.0.0.3',
      'server.port': 6379,
      [ESPAN.CONN_KEY]: `10.0.0.2:${40000 + (i % 1000)}-10.0.0.3:6379`,
      [ESPAN.REQ_SEQ]: (seq * 7) >>> 0,
      [ESPAN.THREAD_TRACE_ID]: thread,
    });
    const call = common('node-b', SpanKind.CLIENT, start + 600_000, dur / 2, 'POST', {
      'http.request.method': 'POST',
      'url.path': '/stock',
      'http.response.status_code': 200,
      'server.address': '10.0.0.4',
      'server.port': 80,
      [ESPAN.CONN_KEY]: `10.0.0.2:${41000 + (i % 1000)}-10.0.0.4:80`,
      [ESPAN.REQ_SEQ]: (seq * 13) >>> 0,
      [ESPAN.THREAD_TRACE_ID]: thread,
    });
    spans.push(client, server, redis, call);
  }
  // arrival order: agents flush independently, so spans of one trace come in different batches
  for (let i = spans.length - 1; i > 0; i--) {
    const j = Math.max(0, i - Math.floor(rnd() * BATCH * 3));
    [spans[i], spans[j]] = [spans[j], spans[i]];
  }
  return spans;
}

/** Spans arrive chunk by chunk, as from the network: memory stays what the linker holds, not the whole run. */
function* spanChunks(total: number): Generator<Span[]> {
  const tracesPerChunk = 8192;
  for (let from = 0; from * 4 < total; from += tracesPerChunk) yield makeSpans(from, Math.min(tracesPerChunk, Math.ceil((total - from * 4) / 4)));
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
  spansIn: number;
  spansOut: number;
  seconds: number;
  link: number;
  sample: number;
  encode: number;
  bytes: number;
  traces: number;
}

function run(total: number, policies: unknown[]): Result {
  const clock = { t: 0 };
  const tel = componentTelemetry(new ServiceMetrics(), 'processor', 'bench');
  const linker = new Linker({ link_window: LINK_WINDOW_MS, link_windows: 2, max_clock_skew: 100, max_spans: 200000, max_recent_links: 100000 }, () => clock.t, tel);
  const sampler = new TailSampler(samplingConfig(policies), { now: () => clock.t }, tel);
  let link = 0;
  let sample = 0;
  let encode = 0;
  let bytes = 0;
  let spansOut = 0;
  let traces = 0;
  const msPerBatch = (BATCH / 4 / TRACES_PER_SECOND) * 1000;
  const exportSampled = (sampled: Trace[]): void => {
    if (!sampled.length) return;
    const t = performance.now();
    const flat = flattenTraces(sampled);
    bytes += encodeTraceRequest(flat).length;
    encode += performance.now() - t;
    spansOut += flat.length;
  };
  let generate = 0;
  let spansIn = 0;
  const t0 = performance.now();
  for (const spans of spanChunks(total)) {
    generate += performance.now() - t0 - (link + sample + encode + generate);
    for (let i = 0; i < spans.length; i += BATCH) {
    spansIn += Math.min(BATCH, spans.length - i);
    clock.t += msPerBatch;
    let t = performance.now();
    const linked = linker.add(spans.slice(i, i + BATCH));
    link += performance.now() - t;
    traces += linked.length;
    t = performance.now();
    const sampled = sampler.add(linked);
    for (const s of sampler.tick()) sampled.push(s);
    sample += performance.now() - t;
    exportSampled(sampled);
    }
  }
  let t = performance.now();
  const rest = linker.flush();
  link += performance.now() - t;
  traces += rest.length;
  t = performance.now();
  const sampled = sampler.add(rest);
  for (const s of sampler.flush()) sampled.push(s);
  sample += performance.now() - t;
  exportSampled(sampled);
  // span generation is the benchmark's own cost, not the linker's
  return { spansIn, spansOut, seconds: (performance.now() - t0 - generate) / 1000, link, sample, encode, bytes, traces };
}

function report(label: string, r: Result): void {
  const rate = (ms: number) => `${Math.round(r.spansIn / (ms / 1000) / 1000)}k spans/s`;
  console.log(
    `${label}: ${Math.round(r.spansIn / r.seconds / 1000)}k spans/s end to end (${r.spansIn} spans in, ${r.traces} traces, ${r.spansOut} spans kept, ` +
      `${(r.bytes / Math.max(1, r.spansOut)).toFixed(0)} B/span OTLP) | linking ${rate(r.link)}, tail sampling ${rate(r.sample)}, ` +
      `OTLP encode ${r.spansOut ? Math.round(r.spansOut / (r.encode / 1000) / 1000) : 0}k kept spans/s`,
  );
}

function main(): void {
  const n = Number(process.argv[2] ?? 400_000);
  // warm-up so the JIT has settled before anything is timed
  run(40_000, [{ name: 'all', type: 'always_sample' }]);
  report('always_sample (every span serialised)', run(n, [{ name: 'all', type: 'always_sample' }]));
  report('typical policies (drop, propagated, errors, slow, 10%)', run(n, TYPICAL));
  // the same spans through OTLP encoding alone: the reference the figures above compare with on a shared machine
  const sample = makeSpans(0, 2048);
  for (const sp of sample) sp.traceId = sp.traceId || '0af7651916cd43dd8448eb211c80319c';
  let encoded = 0;
  const e0 = performance.now();
  while (performance.now() - e0 < 2000) {
    for (let i = 0; i < sample.length; i += BATCH) encodeTraceRequest(sample.slice(i, i + BATCH));
    encoded += sample.length;
  }
  console.log(`reference: OTLP protobuf encoding alone of the same spans: ${Math.round(encoded / ((performance.now() - e0) / 1000) / 1000)}k spans/s`);
  const mem = process.memoryUsage();
  console.log(`heap used ${(mem.heapUsed / 1e6).toFixed(0)} MB, rss ${(mem.rss / 1e6).toFixed(0)} MB`);
}

main();
