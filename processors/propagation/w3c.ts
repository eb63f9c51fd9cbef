/**
 * W3C Trace Context extraction, validated as the Recommendation says
 * (https://www.w3.org/TR/trace-context/#traceparent-header-field-values):
 * lower-case hex only, version ff forbidden, all-zero trace or parent ids
 * invalid, and a future version may append fields after a '-'.
 */
import type { PropagatedContext } from '../../core/signals';
import { TRACE_PARENT_HEADER, TRACE_STATE_HEADER } from './constants';
import { getHeader, type Headers } from './headers';
import { hexDigit, hexId } from './ids';

export interface W3cContext extends PropagatedContext {
  format: 'w3c';
  parentSpanId: string;
  /** the trace-flags byte */
  traceFlags: number;
}

// A higher version keeps the four version-00 fields first; anything it adds follows a '-'.
const FUTURE_VERSION = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-.*)?$/;
/** `00-` trace id `-` parent id `-` flags: version 00 is exactly this long */
const VERSION_00_LENGTH = 55;
const TRACE_ID_AT = 3;
const PARENT_ID_AT = 36;
const FLAGS_AT = 53;
const DASH = 0x2d;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * Parses a traceparent value; undefined when the spec says to ignore it.
 * Read character by character, its ids spelled as flat strings (ids.ts):
 * the captures of a regular expression were slices of the header value.
 */
export function parseTraceParent(value: string): Omit<W3cContext, 'format' | 'traceState'> | undefined {
  // HTTP strips optional whitespace around field values; a value with inner spaces stays invalid.
  const v = value.trim();
  const v0 = hexDigit(v, 0);
  const v1 = hexDigit(v, 1);
  if (v0 < 0 || v1 < 0 || (v0 === 15 && v1 === 15)) return undefined;
  if (v0 === 0 && v1 === 0 ? v.length !== VERSION_00_LENGTH : !FUTURE_VERSION.test(v)) return undefined;
  if (v.charCodeAt(TRACE_ID_AT - 1) !== DASH || v.charCodeAt(PARENT_ID_AT - 1) !== DASH || v.charCodeAt(FLAGS_AT - 1) !== DASH) return undefined;
  const traceId = hexId(v, TRACE_ID_AT, 32, 32);
  const parentSpanId = hexId(v, PARENT_ID_AT, 16, 16);
  const f0 = hexDigit(v, FLAGS_AT);
  const f1 = hexDigit(v, FLAGS_AT + 1);
  if (traceId === undefined || parentSpanId === undefined || f0 < 0 || f1 < 0) return undefined;
  if (traceId === ZERO_TRACE_ID || parentSpanId === ZERO_SPAN_ID) return undefined;
  const traceFlags = (f0 << 4) | f1;
  return { traceId, parentSpanId, traceFlags, sampled: (traceFlags & 1) === 1 };
}

// list-member grammar of https://www.w3.org/TR/trace-context/#tracestate-header-field-values
const SIMPLE_KEY = '[a-z][_0-9a-z\\-*/]{0,255}';
const MULTI_TENANT_KEY = '[a-z0-9][_0-9a-z\\-*/]{0,240}@[a-z][_0-9a-z\\-*/]{0,13}';
const VALUE = '[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]';
const MEMBER = new RegExp(`^(${SIMPLE_KEY}|${MULTI_TENANT_KEY})=(${VALUE})$`);
const MAX_MEMBERS = 32;

/**
 * Validates a tracestate value and returns it normalised (members joined by
 * ','), or undefined when invalid: the spec says an invalid tracestate is
 * discarded while the traceparent still counts.
 */
export function parseTraceState(value: string): string | undefined {
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of value.split(',')) {
    const member = raw.trim();
    if (member === '') continue; // empty list members are allowed
    const m = MEMBER.exec(member);
    if (!m) return undefined;
    if (keys.has(m[1])) return undefined;
    keys.add(m[1]);
    members.push(member);
  }
  if (members.length > MAX_MEMBERS) return undefined;
  return members.length ? members.join(',') : undefined;
}

/** The trace id extract() gives, without reading the tracestate (which cannot make a context invalid) or making the context. */
export function extractTraceId(headers: Headers): string | undefined {
  const tp = getHeader(headers, TRACE_PARENT_HEADER);
  return tp === undefined ? undefined : parseTraceParent(tp)?.traceId;
}

export function extract(headers: Headers): W3cContext | undefined {
  const tp = getHeader(headers, TRACE_PARENT_HEADER);
  if (tp === undefined) return undefined;
  const parsed = parseTraceParent(tp);
  if (!parsed) return undefined;
  const ts = getHeader(headers, TRACE_STATE_HEADER);
  const traceState = ts === undefined ? undefined : parseTraceState(ts);
  const ctx: W3cContext = { format: 'w3c', traceId: parsed.traceId, parentSpanId: parsed.parentSpanId, traceFlags: parsed.traceFlags, sampled: parsed.sampled };
  if (traceState !== undefined) ctx.traceState = traceState;
  return ctx;
}
