/**
 * OTLP protobuf serialisation, side by side in one run: the protobufjs path
 * (plain objects + protobufjs' encoder, as core/otlp encoded until the
 * hand-written writer) against core/otlp's ProtoWriter, in spans/s on one
 * core and bytes per span, plus metric points the same way.
 * Usage: node --expose-gc --import tsx bench/otlp-encode.ts [spans=50000]
 * (--expose-gc lets each case start from a collected heap; without it the
 * writer is charged for protobufjs' garbage and reads about half as fast)
 */
import { performance } from 'node:perf_hooks';
import { otlpProto } from '../core/otlp/proto';
import { writeMetricsRequest } from '../core/otlp/write-metrics';
import { writeTraceRequest } from '../core/otlp/write-trace';
import type { MetricPoint, Span } from '../core/signals';
import { encodeMetricsRequestProtobufjs, encodeTraceRequestProtobufjs, metricsRequestObject, traceRequestObject } from '../test/otlp/reference';
import { BATCH, batches, makeSpans, resource, scope } from './lib/otlp-spans';

const ROUNDS = 5;

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

interface Case<T> {
  label: string;
  f: (b: T[]) => Uint8Array | object;
  rates: number[];
  bytes: number;
}

/**
 * Runs the cases in turn, ROUNDS times over, and prints each one's median:
 * on shared cores one slow round says more about the neighbours than the code.
 */
function compare<T>(unit: string, items: T[], cases: Array<Pick<Case<T>, 'label' | 'f'>>): void {
  const bs = batches(items);
  const all: Case<T>[] = cases.map((c) => ({ ...c, rates: [], bytes: 0 }));
  for (const c of all) for (const b of bs.slice(0, 20)) c.f(b); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of all) {
      // without this, the next case pays for the garbage the previous one left (protobufjs leaves a lot)
      (globalThis as { gc?: () => void }).gc?.();
      let bytes = 0;
      const t0 = performance.now();
      for (const b of bs) {
        const out = c.f(b);
        if (out instanceof Uint8Array) bytes += out.byteLength;
      }
      c.rates.push(items.length / ((performance.now() - t0) / 1000));
      c.bytes = bytes;
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const reference = median(all[1].rates);
  for (const c of all) {
    const rate = median(c.rates);
    const size = c.bytes ? `${(c.bytes / items.length).toFixed(1)} B/${unit}` : '';
    const ratio = c === all[1] || !c.bytes ? '' : `  ${(rate / reference).toFixed(1)}x protobufjs`;
    console.log(`  ${c.label.padEnd(36)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} ${unit}s/s  ${size.padEnd(14)}${ratio}`);
  }
}

function main(): void {
  const n = Number(process.argv[2] ?? 50_000);
  otlpProto();
  for (const rich of [false, true]) {
    const spans = makeSpans(n, rich);
    console.log(`${n} spans with 10 attributes${rich ? ', an event, a link and an error status' : ''}, batches of ${BATCH}, one core, median of ${ROUNDS}:`);
    compare('span', spans, [
      { label: 'protobufjs: build objects only', f: (b) => traceRequestObject(b) },
      { label: 'protobufjs: objects + encode', f: (b) => encodeTraceRequestProtobufjs(b) },
      { label: 'ProtoWriter (encodeTraceRequest)', f: (b) => writeTraceRequest(b) },
    ]);
  }
  const points = makePoints(Math.min(n, 20_000));
  console.log(`${points.length} RED metric points (sums and 15-bucket histograms), batches of ${BATCH}, median of ${ROUNDS}:`);
  compare('point', points, [
    { label: 'protobufjs: build objects only', f: (b) => metricsRequestObject(b) },
    { label: 'protobufjs: objects + encode', f: (b) => encodeMetricsRequestProtobufjs(b) },
    { label: 'ProtoWriter (encodeMetricsRequest)', f: (b) => writeMetricsRequest(b) },
  ]);
}

main();
