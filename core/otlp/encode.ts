/**
 * espan spans and metric points to OTLP protobuf bytes. encodeTraceRequest and
 * encodeMetricsRequest, which the exporters call, write with the hand-written
 * ProtoWriter (write-trace.ts, write-metrics.ts): several times faster than
 * protobufjs. The protobufjs path stays as the reference the writer's tests
 * compare against: plain objects in protobufjs' shape (camelCase fields, bytes
 * as Buffer, 64-bit as {low, high}) that its generated encoders take without
 * a fromObject pass, then the official message types' encoder.
 */
import type { AttributeValue, Attributes, InstrumentationScope, MetricPoint, Resource, Span, SpanEvent, SpanLink, Trace } from '../signals';
import { groupByResource, metricStreams, withSdkIdentity, type PointWithStream } from './group';
import { otlpProto } from './proto';
import { TEMPORALITY, writeMetricsRequest } from './write-metrics';
import { writeTraceRequest } from './write-trace';

interface LongBits {
  low: number;
  high: number;
}

const TWO_32 = 0x100000000n;

/** An unsigned 64-bit time as protobufjs takes it, without going through Long. */
export function u64(v: bigint): LongBits {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u % TWO_32), high: Number(u / TWO_32) };
}

const EMPTY = Buffer.alloc(0);

/** Lower-case hex id to bytes; empty (unset) ids stay empty. */
export function idBytes(hex: string | undefined): Buffer {
  return hex ? Buffer.from(hex, 'hex') : EMPTY;
}

export function anyValue(v: AttributeValue): object {
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

export function keyValues(attrs: Attributes | undefined): object[] {
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

export function spanObject(s: Span): object {
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

export function encodeTraceRequest(spans: readonly Span[]): Uint8Array {
  return writeTraceRequest(spans);
}

/** The same request encoded by protobufjs: the reference for tests and benchmarks. */
export function encodeTraceRequestProtobufjs(spans: readonly Span[]): Uint8Array {
  return otlpProto().TraceRequest.encode(traceRequestObject(spans) as any).finish();
}

/** Traces are exported as their spans. */
export function flattenTraces(traces: readonly Trace[]): Span[] {
  const out: Span[] = [];
  for (const t of traces) for (const s of t.spans) out.push(s);
  return out;
}

// ---- metrics ----

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

export function metricObjects(points: readonly PointWithStream[]): object[] {
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

export function metricsRequestObject(points: readonly MetricPoint[]): object {
  return {
    resourceMetrics: groupByResource(points).map((g) => ({
      resource: resourceObject(g.resource),
      scopeMetrics: g.scopes.map((sg) => ({ scope: scopeObject(sg.scope), metrics: metricObjects(sg.items) })),
    })),
  };
}

export function encodeMetricsRequest(points: readonly MetricPoint[]): Uint8Array {
  return writeMetricsRequest(points);
}

/** The same request encoded by protobufjs: the reference for tests and benchmarks. */
export function encodeMetricsRequestProtobufjs(points: readonly MetricPoint[]): Uint8Array {
  return otlpProto().MetricsRequest.encode(metricsRequestObject(points) as any).finish();
}
