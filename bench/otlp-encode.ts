/**
 * OTLP protobuf serialisation, side by side in one run: the protobufjs path
 * (plain objects + protobufjs' encoder, as core/otlp encoded until the
 * hand-written writer) against core/otlp's ProtoWriter, in spans/s on one
 * core and bytes per span, plus metric points the same way.
 * Usage: node --expose-gc --import tsx bench/otlp-encode.ts [spans=50000]
 * (--expose-gc lets each case start from a collected heap; without it the
 * writer is charged for protobufjs' garbage and reads about half as fast)
 *
 * With `--capture FILE`, the spans are those the agent's chain makes from a
 * capture (parse → thread_correlation → propagation → span_builder → batch of
 * `--batch`, 2048 as in the lead's agent runs, cut by size only so that
 * every round makes the same requests), encoded as they come out of the
 * chain, as the exporter does, and only encodeTraceRequest is timed, in ns of
 * CPU per span. Each round replays the capture again, so the encoder sees
 * fresh spans and strings as in the agent (the same objects encoded twice
 * find string hashes made and their memory in cache: about twice as fast);
 * the first round warms up. `--rounds` (5) rounds; the bytes, hashed, must be
 * the same each round.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ExporterFactory } from '../core/component';
import { encodeTraceRequest, releaseTraceRequest } from '../core/otlp/encode';
import { otlpProto } from '../core/otlp/proto';
import { writeMetricsRequest } from '../core/otlp/write-metrics';
import { writeTraceRequest } from '../core/otlp/write-trace';
import type { MetricPoint, Span } from '../core/signals';
import { encodeMetricsRequestProtobufjs, encodeTraceRequestProtobufjs, metricsRequestObject, traceRequestObject } from '../test/otlp/reference';
import { defaultRegistry } from '../registry';
import { BATCH, batches, makeSpans, resource, scope } from './lib/otlp-spans';
import { numberOption, option } from './lib/options';
import { runPipeline } from './lib/run-pipeline';

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

/** What encoding the spans of one replay cost and gave. */
interface Encoded {
  spans: number;
  bytes: number;
  cpuMicros: number;
  hash: ReturnType<typeof createHash>;
}

/**
 * An exporter of type `otlp_encode_timed`: encodes each batch as the OTLP
 * exporters do (and gives the bytes back once hashed, as they do once a
 * request is answered), timing only that, in CPU.
 */
function timedEncodeExporter(into: Encoded): ExporterFactory<Record<string, never>> {
  return {
    kind: 'exporter',
    type: 'otlp_encode_timed',
    schema: {},
    accepts: () => ['spans'],
    create: () => ({
      consume: (batch) => {
        const spans = batch as Span[];
        const cpu0 = process.cpuUsage();
        const out = encodeTraceRequest(spans);
        const cpu = process.cpuUsage(cpu0);
        into.cpuMicros += cpu.user + cpu.system;
        into.spans += spans.length;
        into.bytes += out.length;
        into.hash.update(out);
        releaseTraceRequest(out);
      },
      shutdown: async () => ({ lost: 0 }),
    }),
  };
}

/** Replays the capture through the agent's chain, batched as examples/agent.yaml does, into the timed encoder. */
async function encodeAgentSpans(file: string, batch: number): Promise<Encoded> {
  const encoded: Encoded = { spans: 0, bytes: 0, cpuMicros: 0, hash: createHash('sha256') };
  await runPipeline(
    `receivers: {replay: {path: ${JSON.stringify(path.resolve(file))}}}
processors: {parse: {}, thread_correlation: {}, propagation: {}, span_builder: {}, batch: {send_batch_size: ${batch}, send_batch_max_size: ${batch}, timeout: 1h}}
exporters: {otlp_encode_timed: {}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [parse, thread_correlation, propagation, span_builder, batch], exporters: [otlp_encode_timed]}}
`,
    'otlp-encode.yaml',
    defaultRegistry().add(timedEncodeExporter(encoded)),
  );
  return encoded;
}

/** ns of CPU per span to encode the capture's spans, per round, and a digest of the bytes. */
async function captureMain(file: string): Promise<void> {
  const rounds = numberOption('rounds', 5);
  const batch = numberOption('batch', 2048);
  const perSpan: number[] = [];
  let last: Encoded | undefined;
  let digest = '';
  for (let round = 0; round <= rounds; round++) {
    last = await encodeAgentSpans(file, batch);
    const d = last.hash.digest('hex').slice(0, 16);
    if (digest && d !== digest) throw new Error(`round ${round}: bytes ${d}, not ${digest} as before`);
    digest = d;
    if (round > 0) perSpan.push((last.cpuMicros * 1000) / last.spans);
  }
  const median = [...perSpan].sort((x, y) => x - y)[perSpan.length >> 1];
  console.log(`${last!.spans} spans (agent chain on ${path.basename(file)}), requests of up to ${batch}, ${(last!.bytes / last!.spans).toFixed(1)} B/span, bytes ${digest}`);
  console.log(`  ns CPU/span per round: ${perSpan.map((x) => x.toFixed(0)).join(' ')}  median ${median.toFixed(0)}`);
}

function main(): void {
  const capture = option('capture');
  if (capture) {
    captureMain(capture).catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
    return;
  }
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
