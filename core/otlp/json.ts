/**
 * OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions): ids as hex,
 * 64-bit integers as decimal strings, enums as integers, bytes as base64,
 * lowerCamelCase keys. Used by the otlp_http exporter (encoding: json) and the
 * file exporter.
 */
import type { AttributeValue, Attributes, InstrumentationScope, MetricPoint, Resource, Span, SpanEvent, SpanLink } from '../signals';
import { groupByResource, metricStreams, withSdkIdentity } from './group';

function anyValueJson(v: AttributeValue): object {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'number':
      return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
    case 'bigint':
      return { intValue: BigInt.asIntN(64, v).toString() };
    default:
      if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
      if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValueJson) } };
      if (v !== null && typeof v === 'object') return { kvlistValue: { values: keyValuesJson(v as Attributes) } };
      return {};
  }
}

function keyValuesJson(attrs: Attributes | undefined): object[] {
  const out: object[] = [];
  if (!attrs) return out;
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined || v === null) continue;
    out.push({ key, value: anyValueJson(v) });
  }
  return out;
}

/** Zero-valued optional fields are left out, as protobuf's JSON mapping does. */
function put(o: Record<string, unknown>, key: string, v: unknown): void {
  if (v === undefined || v === '' || v === 0) return;
  o[key] = v;
}

function resourceJson(resource: Resource): object {
  const r = withSdkIdentity(resource);
  const o: Record<string, unknown> = { attributes: keyValuesJson(r.attributes) };
  put(o, 'droppedAttributesCount', r.droppedAttributesCount);
  return o;
}

function scopeJson(scope: InstrumentationScope): object {
  const o: Record<string, unknown> = { name: scope.name };
  put(o, 'version', scope.version);
  if (scope.attributes && Object.keys(scope.attributes).length) o.attributes = keyValuesJson(scope.attributes);
  return o;
}

function eventJson(e: SpanEvent): object {
  const o: Record<string, unknown> = { timeUnixNano: e.timeUnixNano.toString(), name: e.name, attributes: keyValuesJson(e.attributes) };
  put(o, 'droppedAttributesCount', e.droppedAttributesCount);
  return o;
}

function linkJson(l: SpanLink): object {
  const o: Record<string, unknown> = { traceId: l.traceId, spanId: l.spanId };
  put(o, 'traceState', l.traceState);
  o.attributes = keyValuesJson(l.attributes);
  put(o, 'droppedAttributesCount', l.droppedAttributesCount);
  put(o, 'flags', l.flags);
  return o;
}

function spanJson(s: Span): object {
  const o: Record<string, unknown> = { traceId: s.traceId, spanId: s.spanId };
  put(o, 'traceState', s.traceState);
  put(o, 'parentSpanId', s.parentSpanId);
  put(o, 'flags', s.flags);
  o.name = s.name;
  o.kind = s.kind;
  o.startTimeUnixNano = s.startTimeUnixNano.toString();
  o.endTimeUnixNano = s.endTimeUnixNano.toString();
  o.attributes = keyValuesJson(s.attributes);
  put(o, 'droppedAttributesCount', s.droppedAttributesCount);
  if (s.events.length) o.events = s.events.map(eventJson);
  put(o, 'droppedEventsCount', s.droppedEventsCount);
  if (s.links.length) o.links = s.links.map(linkJson);
  put(o, 'droppedLinksCount', s.droppedLinksCount);
  const status: Record<string, unknown> = {};
  put(status, 'code', s.status.code);
  put(status, 'message', s.status.message);
  o.status = status;
  return o;
}

/** An ExportTraceServiceRequest in OTLP/JSON: one resourceSpans entry per distinct resource. */
export function toOtlpJson(spans: readonly Span[]): { resourceSpans: object[] } {
  return {
    resourceSpans: groupByResource(spans).map((g) => ({
      resource: resourceJson(g.resource),
      scopeSpans: g.scopes.map((sg) => ({ scope: scopeJson(sg.scope), spans: sg.items.map(spanJson) })),
    })),
  };
}

function numberPointJson(p: MetricPoint): object {
  const v = p.value ?? 0;
  return {
    attributes: keyValuesJson(p.attributes),
    startTimeUnixNano: p.startTimeUnixNano.toString(),
    timeUnixNano: p.timeUnixNano.toString(),
    ...(Number.isSafeInteger(v) ? { asInt: String(v) } : { asDouble: v }),
  };
}

function histogramPointJson(p: MetricPoint): object {
  const o: Record<string, unknown> = {
    attributes: keyValuesJson(p.attributes),
    startTimeUnixNano: p.startTimeUnixNano.toString(),
    timeUnixNano: p.timeUnixNano.toString(),
    count: String(p.count ?? 0),
    bucketCounts: (p.bucketCounts ?? []).map(String),
    explicitBounds: p.explicitBounds ?? [],
  };
  if (p.sum !== undefined) o.sum = p.sum;
  if (p.min !== undefined) o.min = p.min;
  if (p.max !== undefined) o.max = p.max;
  return o;
}

/** An ExportMetricsServiceRequest in OTLP/JSON. */
export function metricsToOtlpJson(points: readonly MetricPoint[]): { resourceMetrics: object[] } {
  return {
    resourceMetrics: groupByResource(points).map((g) => ({
      resource: resourceJson(g.resource),
      scopeMetrics: g.scopes.map((sg) => {
        const metrics = metricStreams(sg.items).map((list) => {
          const f = list[0];
          const m: Record<string, unknown> = { name: f.name };
          put(m, 'description', f.description);
          put(m, 'unit', f.unit);
          const temporality = f.temporality === 'delta' ? 1 : 2;
          if (f.kind === 'histogram') m.histogram = { dataPoints: list.map(histogramPointJson), aggregationTemporality: temporality };
          else if (f.kind === 'sum') m.sum = { dataPoints: list.map(numberPointJson), aggregationTemporality: temporality, isMonotonic: f.monotonic ?? true };
          else m.gauge = { dataPoints: list.map(numberPointJson) };
          return m;
        });
        return { scope: scopeJson(sg.scope), metrics };
      }),
    })),
  };
}

/** JSON.stringify that survives stray bigints (attributes are already strings here; this is a guard). */
export function stringifyOtlp(doc: object): string {
  return JSON.stringify(doc, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}
