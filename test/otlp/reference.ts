/**
 * Reference OTLP encoders and decoder that espan's own writer and reader
 * (core/otlp/write-*.ts, read-trace.ts) are tested and benchmarked against:
 * protobufjs with the official .proto files. The encoders build plain objects
 * in protobufjs' shape (camelCase fields, bytes as Buffer, 64-bit as {low,
 * high}) that its generated encoders take without a fromObject pass; this is
 * how core/otlp encoded before the hand-written writer.
 */
import { fromOtlpJson, OtlpDecodeError } from '../../core/otlp/decode';
import { groupByResource, metricStreams, withSdkIdentity, type PointWithStream } from '../../core/otlp/group';
import { otlpProto } from '../../core/otlp/proto';
import type { AttributeValue, Attributes, InstrumentationScope, MetricPoint, Resource, Span, SpanEvent, SpanLink } from '../../core/signals';

interface LongBits {
  low: number;
  high: number;
}

const TWO_32 = 0x100000000n;

/** An unsigned 64-bit time as protobufjs takes it, without going through Long. */
function u64(v: bigint): LongBits {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u % TWO_32), high: Number(u / TWO_32) };
}

const EMPTY = Buffer.alloc(0);

/** Lower-case hex id to bytes; empty (unset) ids stay empty. */
function idBytes(hex: string | undefined): Buffer {
  return hex ? Buffer.from(hex, 'hex') : EMPTY;
}

function anyValue(v: AttributeValue): object {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'number':
      // An integral JS number is sent as an int; beyond 2^53 it is no longer exact, so it goes as a double.
      return Number.isSafeInteger(v) ? { intValue: v } : { doubleValue: v };
    case 'bigint':
      return { intValue: u64(v) };
    default:
      if (v instanceof Uint8Array) return { bytesValue: v };
      if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
      if (v !== null && typeof v === 'object') return { kvlistValue: { values: keyValues(v as Attributes) } };
      return {};
  }
}

function keyValues(attrs: Attributes | undefined): object[] {
  const out: object[] = [];
  if (!attrs) return out;
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined || v === null) continue;
    out.push({ key, value: anyValue(v) });
  }
  return out;
}

function resourceObject(resource: Resource): object {
  const r = withSdkIdentity(resource);
  return { attributes: keyValues(r.attributes), droppedAttributesCount: r.droppedAttributesCount ?? 0 };
}

function scopeObject(scope: InstrumentationScope): object {
  return { name: scope.name, version: scope.version ?? '', attributes: keyValues(scope.attributes) };
}

function eventObject(e: SpanEvent): object {
  return { timeUnixNano: u64(e.timeUnixNano), name: e.name, attributes: keyValues(e.attributes), droppedAttributesCount: e.droppedAttributesCount ?? 0 };
}

function linkObject(l: SpanLink): object {
  return {
    traceId: idBytes(l.traceId),
    spanId: idBytes(l.spanId),
    traceState: l.traceState ?? '',
    attributes: keyValues(l.attributes),
    droppedAttributesCount: l.droppedAttributesCount ?? 0,
    flags: l.flags ?? 0,
  };
}

function spanObject(s: Span): object {
  return {
    traceId: idBytes(s.traceId),
    spanId: idBytes(s.spanId),
    traceState: s.traceState ?? '',
    parentSpanId: idBytes(s.parentSpanId),
    flags: s.flags ?? 0,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: u64(s.startTimeUnixNano),
    endTimeUnixNano: u64(s.endTimeUnixNano),
    attributes: keyValues(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount ?? 0,
    events: s.events.map(eventObject),
    droppedEventsCount: s.droppedEventsCount ?? 0,
    links: s.links.map(linkObject),
    droppedLinksCount: s.droppedLinksCount ?? 0,
    status: { code: s.status.code, message: s.status.message ?? '' },
  };
}

/** ExportTraceServiceRequest as a protobufjs-ready object. */
export function traceRequestObject(spans: readonly Span[]): object {
  return {
    resourceSpans: groupByResource(spans).map((g) => ({
      resource: resourceObject(g.resource),
      scopeSpans: g.scopes.map((sg) => ({ scope: scopeObject(sg.scope), spans: sg.items.map(spanObject) })),
    })),
  };
}

/** The request core/otlp's encodeTraceRequest writes, encoded by protobufjs. */
export function encodeTraceRequestProtobufjs(spans: readonly Span[]): Uint8Array {
  return otlpProto().TraceRequest.encode(traceRequestObject(spans) as any).finish();
}

// ---- metrics ----

/** OTLP AggregationTemporality, written out here rather than taken from the writer under test. */
const TEMPORALITY = { delta: 1, cumulative: 2 } as const;

function numberPoint(p: MetricPoint): object {
  const v = p.value ?? 0;
  return {
    attributes: keyValues(p.attributes),
    startTimeUnixNano: u64(p.startTimeUnixNano),
    timeUnixNano: u64(p.timeUnixNano),
    ...(Number.isSafeInteger(v) ? { asInt: v } : { asDouble: v }),
  };
}

function histogramPoint(p: MetricPoint): object {
  const o: Record<string, unknown> = {
    attributes: keyValues(p.attributes),
    startTimeUnixNano: u64(p.startTimeUnixNano),
    timeUnixNano: u64(p.timeUnixNano),
    count: p.count ?? 0,
    bucketCounts: p.bucketCounts ?? [],
    explicitBounds: p.explicitBounds ?? [],
  };
  if (p.sum !== undefined) o.sum = p.sum;
  if (p.min !== undefined) o.min = p.min;
  if (p.max !== undefined) o.max = p.max;
  return o;
}

function metricObjects(points: readonly PointWithStream[]): object[] {
  const out: object[] = [];
  for (const list of metricStreams(points)) {
    const first = list[0];
    const m: Record<string, unknown> = { name: first.name, description: first.description ?? '', unit: first.unit ?? '' };
    const temporality = TEMPORALITY[first.temporality ?? 'cumulative'];
    if (first.kind === 'histogram') m.histogram = { dataPoints: list.map(histogramPoint), aggregationTemporality: temporality };
    else if (first.kind === 'sum') m.sum = { dataPoints: list.map(numberPoint), aggregationTemporality: temporality, isMonotonic: first.monotonic ?? true };
    else m.gauge = { dataPoints: list.map(numberPoint) };
    out.push(m);
  }
  return out;
}

/** ExportMetricsServiceRequest as a protobufjs-ready object. */
export function metricsRequestObject(points: readonly MetricPoint[]): object {
  return {
    resourceMetrics: groupByResource(points).map((g) => ({
      resource: resourceObject(g.resource),
      scopeMetrics: g.scopes.map((sg) => ({ scope: scopeObject(sg.scope), metrics: metricObjects(sg.items) })),
    })),
  };
}

/** The request core/otlp's encodeMetricsRequest writes, encoded by protobufjs. */
export function encodeMetricsRequestProtobufjs(points: readonly MetricPoint[]): Uint8Array {
  return otlpProto().MetricsRequest.encode(metricsRequestObject(points) as any).finish();
}

// ---- decoding ----

/** protobufjs' rendering in OTLP/JSON's forms, but for ids, which OTLP/JSON writes as hex. */
const AS_JSON = { longs: String, enums: Number, bytes: String, defaults: false, arrays: true } as const;
const ID_FIELD = /^(traceId|spanId|parentSpanId)$/;

function hexIds(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(hexIds);
  if (!o || typeof o !== 'object') return o;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = ID_FIELD.test(k) && typeof v === 'string' ? Buffer.from(v, 'base64').toString('hex') : hexIds(v);
  return out;
}

/**
 * Spans of a protobuf ExportTraceServiceRequest through protobufjs and the
 * official .proto files, the decoded message read as OTLP/JSON: the reference
 * readTraceRequest is checked against.
 */
export function decodeTraceRequestReference(bytes: Uint8Array): Span[] {
  const T = otlpProto().TraceRequest;
  let msg;
  try {
    msg = T.decode(bytes);
  } catch (e) {
    throw new OtlpDecodeError(`not an ExportTraceServiceRequest: ${(e as Error).message}`);
  }
  return fromOtlpJson(hexIds(T.toObject(msg, AS_JSON)));
}
