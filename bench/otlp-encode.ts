/**
 * OTLP protobuf serialisation, side by side in one run: the protobufjs path
 * (plain objects + protobufjs' encoder, as core/otlp encoded until the
 * hand-written writer) against core/otlp's ProtoWriter, in spans/s on one
 * core and bytes per span, plus metric points the same way.
 * Usage: node --import tsx bench/otlp-encode.ts [spans=100000]
 */
import { performance } from 'node:perf_hooks';
import { encodeMetricsRequestProtobufjs, encodeTraceRequestProtobufjs, metricsRequestObject, traceRequestObject } from '../core/otlp/encode';
import { otlpProto } from '../core/otlp/proto';
import { writeMetricsRequest } from '../core/otlp/write-metrics';
import { writeTraceRequest } from '../core/otlp/write-trace';
import { SpanKind, StatusCode, type MetricPoint, type Resource, type Span } from '../core/signals';

const BATCH = 512;
const resource: Resource = { attributes: { 'service.name': 'checkout', 'host.name': 'node-1', 'process.pid': 4242 } };
const scope = { name: 'espan', version: '0.1.0' };

/** Spans as espan makes them: 10 attributes, ids derived from a counter. */
function makeSpans(n: number, rich: boolean): Span[] {
  const base = 0x1234_5678_9abcn << 64n;
  const out: Span[] = [];
  for (let i = 0; i < n; i++) {
    const traceId = (base + BigInt(i >> 3)).toString(16).padStart(32, '0');
    out.push({
      traceId,
      spanId: (0x1000_0000_0000_0000n + BigInt(i)).toString(16),
      parentSpanId: i & 7 ? (0x1000_0000_0000_0000n + BigInt(i - 1)).toString(16) : undefined,
      name: 'GET /api/items/{id}',
      kind: SpanKind.SERVER,
      startTimeUnixNano: 1_763_000_000_000_000_000n + BigInt(i) * 1000n,
      endTimeUnixNano: 1_763_000_000_000_500_000n + BigInt(i) * 1000n,
      attributes: {
        'http.request.method': 'GET',
        'url.path': `/api/items/${i % 100}`,
        'http.route': '/api/items/{id}',
        'http.response.status_code': 200,
        'server.address': '10.0.0.12',
        'server.port': 8080,
        'client.address': '10.0.0.7',
        'network.protocol.version': '1.1',
        'espan.req_seq': 1_000_000 + i,
        'espan.thread_trace_id': 'a1b2c3d4e5f60718',
      },
      events: rich ? [{ timeUnixNano: 1_763_000_000_000_100_000n, name: 'exception', attributes: { 'exception.type': 'Timeout', 'exception.message': 'upstream read timed out after 5s' } }] : [],
      links: rich ? [{ traceId, spanId: 'e'.repeat(16), attributes: { 'espan.link.reason': 'thread' } }] : [],
      status: rich ? { code: StatusCode.ERROR, message: 'upstream unavailable' } : { code: StatusCode.UNSET },
      flags: 1,
      resource,
      scope,
    });
  }
  return out;
}

function makePoints(n: number): MetricPoint[] {
  const out: MetricPoint[] = [];
  const times = { startTimeUnixNano: 1_763_000_000_000_000_000n, timeUnixNano: 1_763_000_060_000_000_000n };
  for (let i = 0; i < n; i++) {
    const attributes = { 'http.route': `/api/r${i % 50}`, 'http.request.method': 'GET', 'http.response.status_code': 200, 'server.address': 'checkout' };
    if (i % 2) out.push({ name: 'espan.requests', unit: '{request}', kind: 'sum', resource, scope, attributes, ...times, value: 1000 + i });
    else out.push({ name: 'espan.request.duration', unit: 's', kind: 'histogram', resource, scope, attributes, ...times, count: 1000, sum: 12.5, min: 0.001, max: 0.9, bucketCounts: [1, 2, 3, 400, 500, 60, 34, 0, 0, 0, 0, 0, 0, 0, 0], explicitBounds: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] });
  }
  return out;
}

function batches<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

function run<T>(label: string, unit: string, items: T[], f: (b: T[]) => Uint8Array | object): void {
  const bs = batches(items);
  for (const b of bs.slice(0, 20)) f(b); // warm-up
  let bytes = 0;
  const t0 = performance.now();
  for (const b of bs) {
    const out = f(b);
    if (out instanceof Uint8Array) bytes += out.byteLength;
  }
  const s = (performance.now() - t0) / 1000;
  const size = bytes ? `  ${(bytes / items.length).toFixed(1)} B/${unit}` : '';
  console.log(`  ${label.padEnd(44)} ${Math.round(items.length / s).toLocaleString('en-US').padStart(10)} ${unit}s/s${size}`);
}

function main(): void {
  const n = Number(process.argv[2] ?? 100_000);
  otlpProto();
  for (const rich of [false, true]) {
    const spans = makeSpans(n, rich);
    console.log(`${n} spans with 10 attributes${rich ? ', an event, a link and an error status' : ''}, batches of ${BATCH}, one core:`);
    run('protobufjs: build objects only', 'span', spans, (b) => traceRequestObject(b));
    run('protobufjs: objects + encode', 'span', spans, (b) => encodeTraceRequestProtobufjs(b));
    run('ProtoWriter (encodeTraceRequest)', 'span', spans, (b) => writeTraceRequest(b));
  }
  const points = makePoints(Math.min(n, 50_000));
  console.log(`${points.length} RED metric points (sums and 15-bucket histograms), batches of ${BATCH}:`);
  run('protobufjs: build objects only', 'point', points, (b) => metricsRequestObject(b));
  run('protobufjs: objects + encode', 'point', points, (b) => encodeMetricsRequestProtobufjs(b));
  run('ProtoWriter (encodeMetricsRequest)', 'point', points, (b) => writeMetricsRequest(b));
}

main();
