/**
 * OTLP trace requests (protobuf or OTLP/JSON) back to espan spans, and the
 * partial-success part of export responses. Protobuf requests are read by
 * read-trace.ts in one pass over the wire format; OTLP/JSON (lowerCamelCase
 * fields, hex ids, 64-bit integers as decimal strings or numbers, bytes as
 * base64) is walked here. Spans of one ResourceSpans share one Resource object
 * and those of one ScopeSpans one scope object, as espan's own spans do.
 *
 * Malformed input throws an OtlpDecodeError: the receiver turns it into a
 * client error and counts it.
 */
import type { AttributeValue, Attributes, InstrumentationScope, Resource, Span, SpanEvent, SpanLink } from '../signals';
import { otlpProto } from './proto';
import { OtlpDecodeError, readTraceRequest, setAttribute } from './read-trace';

export { OtlpDecodeError };

type Obj = Record<string, any>;

const has = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k) && o[k] !== null && o[k] !== undefined;

/** A 64-bit integer as protobufjs decodes it: a number, or a Long's two halves. */
function protoInt64(v: unknown): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  const long = v as { low: number; high: number };
  return BigInt.asIntN(64, (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0));
}

function jsonInt(v: unknown): bigint {
  if (v === undefined || v === null || v === '') return 0n;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new OtlpDecodeError(`expected an integer, got ${JSON.stringify(v)}`);
}

const HEX = /^[0-9a-fA-F]*$/;

function hexId(v: unknown, bytes: number, what: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || v.length !== bytes * 2 || !HEX.test(v)) throw new OtlpDecodeError(`${what} must be ${bytes * 2} hex characters, got ${JSON.stringify(v)}`);
  return v.toLowerCase();
}

const u64 = (v: unknown): bigint => BigInt.asUintN(64, jsonInt(v));
const i64 = (v: unknown): bigint => BigInt.asIntN(64, jsonInt(v));

function base64Bytes(v: unknown): Uint8Array {
  if (typeof v !== 'string') throw new OtlpDecodeError('bytesValue must be a base64 string');
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function attributeValue(v: Obj | undefined, depth: number): AttributeValue | undefined {
  if (!v || typeof v !== 'object') return undefined;
  if (depth > 16) throw new OtlpDecodeError('attribute values nested too deeply');
  if (has(v, 'stringValue')) return String(v.stringValue);
  if (has(v, 'boolValue')) return Boolean(v.boolValue);
  if (has(v, 'intValue')) {
    const i = i64(v.intValue);
    // Small integers come back as numbers, as espan writes them; larger ones stay exact as bigint.
    return i >= -9007199254740991n && i <= 9007199254740991n ? Number(i) : i;
  }
  if (has(v, 'doubleValue')) return Number(v.doubleValue);
  if (has(v, 'bytesValue')) return base64Bytes(v.bytesValue);
  if (has(v, 'arrayValue')) {
    const out: AttributeValue[] = [];
    for (const x of v.arrayValue.values ?? []) {
      const y = attributeValue(x, depth + 1);
      if (y !== undefined) out.push(y);
    }
    return out;
  }
  if (has(v, 'kvlistValue')) return attributes(v.kvlistValue.values, depth + 1);
  return undefined;
}

function attributes(list: unknown, depth = 0): Attributes {
  const out: Attributes = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list as Obj[]) {
    if (!kv || typeof kv.key !== 'string') throw new OtlpDecodeError('attribute without a key');
    const v = attributeValue(kv.value, depth);
    if (v !== undefined) setAttribute(out, kv.key, v);
  }
  return out;
}

function count(v: unknown): number | undefined {
  const n = Number(v ?? 0);
  return n ? n : undefined;
}

function kindOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const names = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
    const i = names.indexOf(v);
    if (i >= 0) return i;
  }
  return 0;
}

function statusCode(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const i = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'].indexOf(v);
    if (i >= 0) return i;
  }
  return 0;
}

function event(e: Obj): SpanEvent {
  const out: SpanEvent = { timeUnixNano: u64(e.timeUnixNano), name: e.name ?? '', attributes: attributes(e.attributes) };
  const d = count(e.droppedAttributesCount);
  if (d) out.droppedAttributesCount = d;
  return out;
}

function link(l: Obj): SpanLink {
  const out: SpanLink = { traceId: hexId(l.traceId, 16, 'link traceId'), spanId: hexId(l.spanId, 8, 'link spanId'), attributes: attributes(l.attributes) };
  if (l.traceState) out.traceState = l.traceState;
  const flags = count(l.flags);
  if (flags) out.flags = flags;
  const d = count(l.droppedAttributesCount);
  if (d) out.droppedAttributesCount = d;
  return out;
}

function span(s: Obj, resource: Resource, scope: InstrumentationScope): Span {
  const out: Span = {
    traceId: hexId(s.traceId, 16, 'traceId'),
    spanId: hexId(s.spanId, 8, 'spanId'),
    name: s.name ?? '',
    kind: kindOf(s.kind),
    startTimeUnixNano: u64(s.startTimeUnixNano),
    endTimeUnixNano: u64(s.endTimeUnixNano),
    attributes: attributes(s.attributes),
    events: Array.isArray(s.events) ? s.events.map(event) : [],
    links: Array.isArray(s.links) ? s.links.map(link) : [],
    status: { code: statusCode(s.status?.code) },
    resource,
    scope,
  };
  const parent = hexId(s.parentSpanId, 8, 'parentSpanId');
  if (parent) out.parentSpanId = parent;
  if (s.traceState) out.traceState = s.traceState;
  const flags = count(s.flags);
  if (flags) out.flags = flags;
  if (s.status?.message) out.status.message = s.status.message;
  const da = count(s.droppedAttributesCount);
  if (da) out.droppedAttributesCount = da;
  const de = count(s.droppedEventsCount);
  if (de) out.droppedEventsCount = de;
  const dl = count(s.droppedLinksCount);
  if (dl) out.droppedLinksCount = dl;
  return out;
}

function walk(doc: Obj): Span[] {
  if (!doc || typeof doc !== 'object') throw new OtlpDecodeError('expected an ExportTraceServiceRequest object');
  const out: Span[] = [];
  for (const rs of (doc.resourceSpans ?? []) as Obj[]) {
    const resource: Resource = { attributes: attributes(rs.resource?.attributes) };
    const dr = count(rs.resource?.droppedAttributesCount);
    if (dr) resource.droppedAttributesCount = dr;
    for (const ss of (rs.scopeSpans ?? []) as Obj[]) {
      const scope: InstrumentationScope = { name: ss.scope?.name ?? '' };
      if (ss.scope?.version) scope.version = ss.scope.version;
      const sa = attributes(ss.scope?.attributes);
      if (Object.keys(sa).length) scope.attributes = sa;
      for (const s of (ss.spans ?? []) as Obj[]) out.push(span(s, resource, scope));
    }
  }
  return out;
}

/** Spans of a protobuf ExportTraceServiceRequest. */
export function decodeTraceRequest(bytes: Uint8Array): Span[] {
  return readTraceRequest(bytes);
}

/** Spans of an OTLP/JSON ExportTraceServiceRequest (parsed, or its text). */
export function fromOtlpJson(doc: unknown): Span[] {
  if (typeof doc === 'string' || doc instanceof Uint8Array) {
    try {
      doc = JSON.parse(typeof doc === 'string' ? doc : Buffer.from(doc).toString('utf8'));
    } catch (e) {
      throw new OtlpDecodeError(`not JSON: ${(e as Error).message}`);
    }
  }
  return walk(doc as Obj);
}

export interface PartialSuccess {
  /** items the server rejected (rejected_spans or rejected_data_points) */
  rejected: number;
  errorMessage: string;
}

/** partial_success of an Export response, when the server reported one. */
export function decodeExportResponse(bytes: Uint8Array, signal: 'traces' | 'metrics', json = false): PartialSuccess | undefined {
  if (!bytes.length) return undefined;
  let msg: Obj;
  if (json) msg = JSON.parse(Buffer.from(bytes).toString('utf8'));
  else msg = (signal === 'traces' ? otlpProto().TraceResponse : otlpProto().MetricsResponse).decode(bytes) as unknown as Obj;
  const ps = msg.partialSuccess;
  if (!ps) return undefined;
  const raw = signal === 'traces' ? ps.rejectedSpans : ps.rejectedDataPoints;
  const rejected = Number(json ? jsonInt(raw) : protoInt64(raw));
  if (!rejected && !ps.errorMessage) return undefined;
  return { rejected, errorMessage: ps.errorMessage ?? '' };
}
