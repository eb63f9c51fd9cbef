/**
 * OTLP/JSON encoding of spans (the protobuf JSON mapping with the OTLP
 * exceptions: trace and span ids are hex, enums are integers, 64-bit integers
 * are decimal strings). Spans are grouped by their Resource and scope objects.
 */
import type { AttributeValue, Attributes, InstrumentationScope, Resource, Span } from '../signals';

export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { bytesValue: string }
  | { arrayValue: { values: OtlpAnyValue[] } }
  | { kvlistValue: { values: OtlpKeyValue[] } };

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export function anyValue(v: AttributeValue): OtlpAnyValue {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'bigint':
      return { intValue: v.toString() };
    case 'number':
      return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  }
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  return { kvlistValue: { values: keyValues(v as Attributes) } };
}

export function keyValues(attrs: Attributes): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  for (const key in attrs) out.push({ key, value: anyValue(attrs[key]) });
  return out;
}

function spanJson(s: Span): Record<string, unknown> {
  const j: Record<string, unknown> = {
    traceId: s.traceId,
    spanId: s.spanId,
  };
  if (s.traceState) j.traceState = s.traceState;
  if (s.parentSpanId) j.parentSpanId = s.parentSpanId;
  if (s.flags !== undefined) j.flags = s.flags;
  j.name = s.name;
  j.kind = s.kind;
  j.startTimeUnixNano = s.startTimeUnixNano.toString();
  j.endTimeUnixNano = s.endTimeUnixNano.toString();
  j.attributes = keyValues(s.attributes);
  if (s.droppedAttributesCount) j.droppedAttributesCount = s.droppedAttributesCount;
  if (s.events.length) {
    j.events = s.events.map((e) => ({
      timeUnixNano: e.timeUnixNano.toString(),
      name: e.name,
      attributes: keyValues(e.attributes),
      ...(e.droppedAttributesCount ? { droppedAttributesCount: e.droppedAttributesCount } : {}),
    }));
  }
  if (s.droppedEventsCount) j.droppedEventsCount = s.droppedEventsCount;
  if (s.links.length) {
    j.links = s.links.map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      ...(l.traceState ? { traceState: l.traceState } : {}),
      attributes: keyValues(l.attributes),
      ...(l.flags !== undefined ? { flags: l.flags } : {}),
      ...(l.droppedAttributesCount ? { droppedAttributesCount: l.droppedAttributesCount } : {}),
    }));
  }
  if (s.droppedLinksCount) j.droppedLinksCount = s.droppedLinksCount;
  j.status = s.status.message ? { code: s.status.code, message: s.status.message } : { code: s.status.code };
  return j;
}

/** Groups spans by resource, then scope, keeping first-seen order. */
export function groupByResource(spans: readonly Span[]): Array<{ resource: Resource; scopes: Array<{ scope: InstrumentationScope; spans: Span[] }> }> {
  const byResource = new Map<Resource, Map<InstrumentationScope, Span[]>>();
  for (const s of spans) {
    let scopes = byResource.get(s.resource);
    if (!scopes) byResource.set(s.resource, (scopes = new Map()));
    let list = scopes.get(s.scope);
    if (!list) scopes.set(s.scope, (list = []));
    list.push(s);
  }
  return [...byResource].map(([resource, scopes]) => ({
    resource,
    scopes: [...scopes].map(([scope, list]) => ({ scope, spans: list })),
  }));
}

/** An ExportTraceServiceRequest in OTLP/JSON. */
export function toOtlpJson(spans: readonly Span[]): { resourceSpans: unknown[] } {
  return {
    resourceSpans: groupByResource(spans).map(({ resource, scopes }) => ({
      resource: { attributes: keyValues(resource.attributes), ...(resource.droppedAttributesCount ? { droppedAttributesCount: resource.droppedAttributesCount } : {}) },
      scopeSpans: scopes.map(({ scope, spans: list }) => ({
        scope: { name: scope.name, ...(scope.version ? { version: scope.version } : {}), ...(scope.attributes ? { attributes: keyValues(scope.attributes) } : {}) },
        spans: list.map(spanJson),
      })),
    })),
  };
}
