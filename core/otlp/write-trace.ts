/**
 * ExportTraceServiceRequest bytes written straight from espan spans with
 * ProtoWriter: no intermediate objects, ids decoded from hex into the output.
 * Attribute values map as README.md documents; field numbers are those of
 * proto/opentelemetry/proto/{collector/trace,trace,common,resource}/v1.
 *
 * Resource, scope and status are written even when empty, as the protobufjs
 * reference (test/otlp/reference.ts) does: their presence is what receivers
 * see. Other default values (empty strings and ids, zero counts, flags, kind)
 * are left out, as proto3 encoders do.
 */
import type { AttributeValue, Attributes, InstrumentationScope, Resource, Span, SpanEvent, SpanLink } from '../signals';
import { groupByResource, withSdkIdentity } from './group';
import { KeyValueCache } from './key-value-cache';
import { RecentAttributes, type PairWriter } from './previous-attributes';
import { ProtoWriter, tagOf } from './proto-writer';
import { receivedAttributes } from './read-trace';

/** Length-width guesses: most key/values and events fit 127 bytes, most spans 16 KiB. */
const SMALL = 1;
const SPAN = 2;
const GROUP = 3;

// ExportTraceServiceRequest
const REQUEST_RESOURCE_SPANS = tagOf.len(1);
// ResourceSpans
const RESOURCE_SPANS_RESOURCE = tagOf.len(1);
const RESOURCE_SPANS_SCOPE_SPANS = tagOf.len(2);
// ScopeSpans
const SCOPE_SPANS_SCOPE = tagOf.len(1);
const SCOPE_SPANS_SPANS = tagOf.len(2);
// Resource
const RESOURCE_ATTRIBUTES = tagOf.len(1);
const RESOURCE_DROPPED = tagOf.varint(2);
// InstrumentationScope
const SCOPE_NAME = tagOf.len(1);
const SCOPE_VERSION = tagOf.len(2);
const SCOPE_ATTRIBUTES = tagOf.len(3);
// Span
const SPAN_TRACE_ID = tagOf.len(1);
const SPAN_SPAN_ID = tagOf.len(2);
const SPAN_TRACE_STATE = tagOf.len(3);
const SPAN_PARENT_SPAN_ID = tagOf.len(4);
const SPAN_NAME = tagOf.len(5);
const SPAN_KIND = tagOf.varint(6);
const SPAN_START = tagOf.fixed64(7);
const SPAN_END = tagOf.fixed64(8);
const SPAN_ATTRIBUTES = tagOf.len(9);
const SPAN_DROPPED_ATTRIBUTES = tagOf.varint(10);
const SPAN_EVENTS = tagOf.len(11);
const SPAN_DROPPED_EVENTS = tagOf.varint(12);
const SPAN_LINKS = tagOf.len(13);
const SPAN_DROPPED_LINKS = tagOf.varint(14);
const SPAN_STATUS = tagOf.len(15);
const SPAN_FLAGS = tagOf.fixed32(16); // two-byte tag
// Span.Event
const EVENT_TIME = tagOf.fixed64(1);
const EVENT_NAME = tagOf.len(2);
const EVENT_ATTRIBUTES = tagOf.len(3);
const EVENT_DROPPED = tagOf.varint(4);
// Span.Link
const LINK_TRACE_ID = tagOf.len(1);
const LINK_SPAN_ID = tagOf.len(2);
const LINK_TRACE_STATE = tagOf.len(3);
const LINK_ATTRIBUTES = tagOf.len(4);
const LINK_DROPPED = tagOf.varint(5);
const LINK_FLAGS = tagOf.fixed32(6);
// Status
const STATUS_MESSAGE = tagOf.len(2);
const STATUS_CODE = tagOf.varint(3);
// KeyValue
const KV_KEY = tagOf.len(1);
const KV_VALUE = tagOf.len(2);
// AnyValue
const ANY_STRING = tagOf.len(1);
const ANY_BOOL = tagOf.varint(2);
const ANY_INT = tagOf.varint(3);
const ANY_DOUBLE = tagOf.fixed64(4);
const ANY_ARRAY = tagOf.len(5);
const ANY_KVLIST = tagOf.len(6);
const ANY_BYTES = tagOf.len(7);
// ArrayValue, KeyValueList
const LIST_VALUES = tagOf.len(1);

/** The body of an AnyValue; a oneof member is written even when it holds its default. */
function writeAnyValue(w: ProtoWriter, v: AttributeValue): void {
  switch (typeof v) {
    case 'string':
      w.string(ANY_STRING, v);
      return;
    case 'boolean':
      w.byte(ANY_BOOL);
      w.byte(v ? 1 : 0);
      return;
    case 'number':
      // An integral JS number is sent as an int; beyond 2^53 it is no longer exact, so it goes as a double.
      if (Number.isSafeInteger(v)) {
        w.byte(ANY_INT);
        w.int64Number(v);
      } else {
        w.byte(ANY_DOUBLE);
        w.double(v);
      }
      return;
    case 'bigint':
      w.byte(ANY_INT);
      w.int64Bigint(v);
      return;
    default:
      if (v instanceof Uint8Array) {
        w.bytes(ANY_BYTES, v);
      } else if (Array.isArray(v)) {
        const array = w.begin(ANY_ARRAY, SMALL);
        for (const x of v) {
          const item = w.begin(LIST_VALUES, SMALL);
          writeAnyValue(w, x);
          w.end(item);
        }
        w.end(array);
      } else if (v !== null && typeof v === 'object') {
        const kvlist = w.begin(ANY_KVLIST, SMALL);
        writeKeyValues(w, LIST_VALUES, v as Attributes);
        w.end(kvlist);
      }
  }
}

function writeKeyValue(w: ProtoWriter, tag: number, key: string, v: AttributeValue): void {
  const kv = w.begin(tag, SMALL);
  w.string(KV_KEY, key);
  const value = w.begin(KV_VALUE, SMALL);
  writeAnyValue(w, v);
  w.end(value);
  w.end(kv);
}

const pairs = new KeyValueCache();

/** One attribute as a KeyValue under `tag`, from the pair cache when it was written before. */
function writePair(w: ProtoWriter, tag: number, key: string, v: AttributeValue): void {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
    const known = pairs.get(key, v);
    if (known !== undefined) {
      w.tagged(tag, known);
      return;
    }
    const at = w.pos + 1; // after the tag
    const keyField = pairs.keyField;
    if (!(keyField !== undefined ? w.shortKeyFieldValue(tag, keyField, v) : w.shortKeyValue(tag, key, v))) writeKeyValue(w, tag, key, v);
    pairs.keep(w, at);
  } else writeKeyValue(w, tag, key, v);
}

/** Attributes as repeated KeyValue under `tag`; null and undefined values are left out. */
export function writeKeyValues(w: ProtoWriter, tag: number, attrs: Attributes | undefined): void {
  if (!attrs) return;
  pairs.beginList();
  for (const key in attrs) {
    const v = attrs[key];
    if (v !== undefined && v !== null) writePair(w, tag, key, v);
  }
}

const previousSpans = new RecentAttributes();
const writeSpanPair: PairWriter = (w, key, v) => writePair(w, SPAN_ATTRIBUTES, key, v);

/**
 * A span's attributes, as writeKeyValues writes them, over the bytes of a
 * span written before with the same keys where they repeat or take the same
 * bytes (previous-attributes.ts); the others go through the pair cache.
 */
function writeSpanAttributes(w: ProtoWriter, attrs: Attributes | undefined): void {
  if (!attrs) return;
  pairs.beginList();
  previousSpans.write(w, attrs, writeSpanPair);
}

function uint32Field(w: ProtoWriter, tag: number, v: number | undefined): void {
  if (!v) return;
  w.byte(tag);
  w.varint32(v);
}

function stringField(w: ProtoWriter, tag: number, s: string | undefined): void {
  if (s) w.string(tag, s);
}

export function writeResource(w: ProtoWriter, tag: number, resource: Resource): void {
  const r = withSdkIdentity(resource);
  const m = w.begin(tag, SPAN);
  writeKeyValues(w, RESOURCE_ATTRIBUTES, r.attributes);
  uint32Field(w, RESOURCE_DROPPED, r.droppedAttributesCount);
  w.end(m);
}

export function writeScope(w: ProtoWriter, tag: number, scope: InstrumentationScope): void {
  const m = w.begin(tag, SMALL);
  stringField(w, SCOPE_NAME, scope.name);
  stringField(w, SCOPE_VERSION, scope.version);
  writeKeyValues(w, SCOPE_ATTRIBUTES, scope.attributes);
  w.end(m);
}

function writeEvent(w: ProtoWriter, e: SpanEvent): void {
  const m = w.begin(SPAN_EVENTS, SMALL);
  w.byte(EVENT_TIME);
  w.fixed64(e.timeUnixNano);
  stringField(w, EVENT_NAME, e.name);
  writeKeyValues(w, EVENT_ATTRIBUTES, e.attributes);
  uint32Field(w, EVENT_DROPPED, e.droppedAttributesCount);
  w.end(m);
}

function writeLink(w: ProtoWriter, l: SpanLink): void {
  const m = w.begin(SPAN_LINKS, SMALL);
  w.hexBytes(LINK_TRACE_ID, l.traceId);
  w.hexBytes(LINK_SPAN_ID, l.spanId);
  stringField(w, LINK_TRACE_STATE, l.traceState);
  writeKeyValues(w, LINK_ATTRIBUTES, l.attributes);
  uint32Field(w, LINK_DROPPED, l.droppedAttributesCount);
  if (l.flags) {
    w.byte(LINK_FLAGS);
    w.fixed32(l.flags);
  }
  w.end(m);
}

/** A span's status; the common ones (unset, OK or ERROR, no message) as their bytes, with no length to patch. */
function writeStatus(w: ProtoWriter, status: Span['status']): void {
  const code = status.code;
  const common = !status.message && (!code || (code === (code | 0) && code > 0 && code < 128));
  if (common) {
    w.byte(SPAN_STATUS);
    if (code) {
      w.byte(2);
      w.byte(STATUS_CODE);
      w.byte(code);
    } else w.byte(0);
    return;
  }
  const m = w.begin(SPAN_STATUS, SMALL);
  stringField(w, STATUS_MESSAGE, status.message);
  if (code) {
    w.byte(STATUS_CODE);
    w.int64Number(code | 0);
  }
  w.end(m);
}

function writeSpan(w: ProtoWriter, tag: number, s: Span): void {
  const m = w.begin(tag, SPAN);
  // an agent's spans have no trace id or parent yet (the linker gives them): no call for those
  if (s.traceId) w.hexBytes(SPAN_TRACE_ID, s.traceId);
  w.hexBytes(SPAN_SPAN_ID, s.spanId);
  stringField(w, SPAN_TRACE_STATE, s.traceState);
  if (s.parentSpanId) w.hexBytes(SPAN_PARENT_SPAN_ID, s.parentSpanId);
  stringField(w, SPAN_NAME, s.name);
  if (s.kind) {
    w.byte(SPAN_KIND);
    w.int64Number(s.kind | 0);
  }
  // Times are written even when zero: every real span has them, so testing for zero would only cost.
  w.byte(SPAN_START);
  w.fixed64(s.startTimeUnixNano);
  w.byte(SPAN_END);
  w.fixed64(s.endTimeUnixNano);
  // attributes received over OTLP and not changed since are copied from the request they came in
  const received = receivedAttributes(s);
  if (received) w.raw(received.request, received.start, received.end);
  else writeSpanAttributes(w, s.attributes);
  uint32Field(w, SPAN_DROPPED_ATTRIBUTES, s.droppedAttributesCount);
  // indexed loops: most spans have no events or links, and an iterator costs more than the test
  const events = s.events;
  for (let i = 0; i < events.length; i++) writeEvent(w, events[i]);
  uint32Field(w, SPAN_DROPPED_EVENTS, s.droppedEventsCount);
  const links = s.links;
  for (let i = 0; i < links.length; i++) writeLink(w, links[i]);
  uint32Field(w, SPAN_DROPPED_LINKS, s.droppedLinksCount);
  writeStatus(w, s.status);
  if (s.flags) {
    w.varint32(SPAN_FLAGS);
    w.fixed32(s.flags);
  }
  w.end(m);
}

const shared = new ProtoWriter();

/** Output bytes per span of the last request: sizes the next one. */
let bytesPerSpan = 0;
/** The guess is only a guess: a few huge spans before many small ones must not reserve gigabytes. */
const MAX_PRESIZE = 64 * 1024 * 1024;

/** Bytes writeTraceRequest returned whose request is done with (sent and answered): see ProtoWriter.recycle. */
export function recycleTraceRequest(bytes: Uint8Array): void {
  shared.recycle(bytes);
}

/** ExportTraceServiceRequest bytes for the spans, grouped by resource and scope as group.ts does. */
export function writeTraceRequest(spans: readonly Span[], w: ProtoWriter = shared): Buffer {
  w.reset();
  // One allocation of about the right size: growing by doubling to tens of megabytes
  // (a link window's traces released at once) copies and page-faults every step.
  const expected = spans.length * bytesPerSpan;
  if (expected > 0) w.ensure(Math.min(MAX_PRESIZE, Math.ceil(expected * 1.125)));
  try {
    for (const g of groupByResource(spans)) {
      const rs = w.begin(REQUEST_RESOURCE_SPANS, GROUP);
      writeResource(w, RESOURCE_SPANS_RESOURCE, g.resource);
      for (const sg of g.scopes) {
        const ss = w.begin(RESOURCE_SPANS_SCOPE_SPANS, GROUP);
        writeScope(w, SCOPE_SPANS_SCOPE, sg.scope);
        for (const s of sg.items) writeSpan(w, SCOPE_SPANS_SPANS, s);
        w.end(ss);
      }
      w.end(rs);
    }
    const out = w.finish();
    if (spans.length) bytesPerSpan = out.length / spans.length;
    return out;
  } finally {
    w.reset();
  }
}
