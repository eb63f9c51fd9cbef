/**
 * OTLP export throughput. Prints:
 *  1. serialisation alone: espan's encoder (and its former protobufjs path) against @opentelemetry/otlp-transformer
 *     (with the adapter from espan spans to the SDK's ReadableSpan that using it would need);
 *  2. end to end: spans/s exported through otlp_grpc and otlp_http to espan's otlp receiver
 *     running in a child process, and spans per CPU-second of the exporting process (per core).
 * Usage: node --import tsx bench/otlp-export.ts [spans=100000]
 */
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { encodeTraceRequest } from '../core/otlp/encode';
import type { Span } from '../core/signals';
import { encodeTraceRequestProtobufjs } from '../test/otlp/reference';
import { BATCH, batches, makeSpans } from './lib/otlp-spans';

async function serialisation(spans: Span[]): Promise<void> {
  const { ProtobufTraceSerializer } = await import('@opentelemetry/otlp-transformer');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const sdkResource = resourceFromAttributes(spans[0].resource.attributes as any);
  const hr = (t: bigint): [number, number] => [Number(t / 1_000_000_000n), Number(t % 1_000_000_000n)];
  // What using the SDK exporter would take: espan span → ReadableSpan (kinds shift by one, times to HrTime,
  // bigint and kvlist attribute values have no SDK form, flags gain the is-remote bits).
  const toReadable = (s: Span): any => ({
    name: s.name,
    kind: s.kind - 1,
    spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: s.flags ?? 1 }),
    parentSpanContext: s.parentSpanId ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1 } : undefined,
    startTime: hr(s.startTimeUnixNano),
    endTime: hr(s.endTimeUnixNano),
    status: { code: s.status.code },
    attributes: s.attributes,
    links: [],
    events: [],
    duration: [0, 500_000],
    ended: true,
    resource: sdkResource,
    instrumentationScope: s.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  });
  const bs = batches(spans);
  const run = (label: string, f: (b: Span[]) => Uint8Array | undefined) => {
    let bytes = 0;
    for (const b of bs.slice(0, 20)) f(b); // warm-up
    const t0 = performance.now();
    for (const b of bs) bytes += f(b)?.byteLength ?? 0;
    const s = (performance.now() - t0) / 1000;
    console.log(`  ${label.padEnd(46)} ${Math.round(spans.length / s).toLocaleString('en-US').padStart(10)} spans/s  ${(bytes / spans.length).toFixed(0)} B/span`);
  };
  console.log(`serialisation, ${spans.length} spans with 10 attributes, batches of ${BATCH}, one core:`);
  run('espan encodeTraceRequest (ProtoWriter)', (b) => encodeTraceRequest(b));
  run('espan protobufjs path (before ProtoWriter)', (b) => encodeTraceRequestProtobufjs(b));
  run('otlp-transformer ProtobufTraceSerializer+adapter', (b) => ProtobufTraceSerializer.serializeRequest(b.map(toReadable)));
}

/** Starts espan's otlp receiver in a child process; it reports its ports, then span counts. */
function startSink(): Promise<{ grpc: string; http: string; stop: () => void; spans: () => Promise<number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--sink'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  let onLine: ((l: string) => void) | undefined;
  lines.on('line', (l) => onLine?.(l));
  const next = () => new Promise<string>((r) => (onLine = r));
  return next().then((l) => {
    const p = JSON.parse(l);
    return {
      grpc: `127.0.0.1:${p.grpc}`,
      http: `http://127.0.0.1:${p.http}`,
      stop: () => child.kill(),
      spans: async () => {
        const w = next();
        child.stdin!.write('count\n');
        return Number(await w);
      },
    };
  });
}

async function sinkMain(): Promise<void> {
  const { OtlpReceiver } = await import('../receivers/otlp/receiver');
  const { resolveConfig } = await import('../core/config/schema');
  const { otlpReceiverFactory } = await import('../receivers/otlp/factory');
  const { ServiceMetrics, componentTelemetry } = await import('../core/telemetry/metrics');
  const { createLogger } = await import('../core/telemetry/logger');
  const { config } = resolveConfig<any>(otlpReceiverFactory.schema, { protocols: { grpc: { endpoint: '127.0.0.1:0', max_recv_msg_size_mib: 64 }, http: { endpoint: '127.0.0.1:0' } } });
  const r = new OtlpReceiver(config, { id: 'otlp', kind: 'receiver', logger: createLogger({ level: 'error' }), telemetry: componentTelemetry(new ServiceMetrics(), 'receiver', 'otlp'), configDir: '.' });
  let n = 0;
  r.output.subscribe((b) => (n += b.length));
  await r.start({ waitForCapacity: async () => {} });
  process.stdout.write(JSON.stringify({ grpc: r.grpcPort, http: r.httpPort }) + '\n');
  readline.createInterface({ input: process.stdin }).on('line', () => process.stdout.write(`${n}\n`));
  process.stdin.on('end', () => process.exit(0));
}

async function endToEnd(spans: Span[]): Promise<void> {
  const { buildExporter } = await import('../test/otlp/harness');
  const sink = await startSink();
  console.log(`end to end, ${spans.length} spans in batches of ${BATCH} to espan's otlp receiver (child process):`);
  const bs = batches(spans);
  const cases: Array<[string, 'grpc' | 'http', Record<string, unknown>]> = [
    ['otlp_grpc, gzip', 'grpc', { endpoint: sink.grpc, tls: { insecure: true } }],
    ['otlp_grpc, no compression', 'grpc', { endpoint: sink.grpc, tls: { insecure: true }, compression: 'none' }],
    ['otlp_http protobuf, gzip', 'http', { endpoint: sink.http }],
    ['otlp_http protobuf, no compression', 'http', { endpoint: sink.http, compression: 'none' }],
    ['otlp_http json, no compression', 'http', { endpoint: sink.http, encoding: 'json', compression: 'none' }],
  ];
  for (const [label, kind, block] of cases) {
    const before = await sink.spans();
    const { exporter, sent } = buildExporter(kind, { ...block, sending_queue: { queue_size: 5000 } });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const b of bs) {
      await exporter.ready!();
      exporter.consume(b, 'spans');
    }
    const r = await exporter.shutdown(60_000);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const got = (await sink.spans()) - before;
    const fmt = (v: number) => Math.round(v).toLocaleString('en-US').padStart(10);
    console.log(`  ${label.padEnd(36)} ${fmt(spans.length / wall)} spans/s wall  ${fmt((await sent()) / cpuS)} spans per exporter CPU-second  (received ${got}, lost ${r.lost})`);
  }
  sink.stop();
}

async function main(): Promise<void> {
  if (process.argv.includes('--sink')) return sinkMain();
  const n = Number(process.argv[2] ?? 100_000);
  const spans = makeSpans(n);
  await serialisation(spans);
  await endToEnd(spans);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
