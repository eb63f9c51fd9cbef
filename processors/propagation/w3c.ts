/**
 * W3C Trace Context extraction, validated as the Recommendation says
 * (https://www.w3.org/TR/trace-context/#traceparent-header-field-values):
 * lower-case hex only, version ff forbidden, all-zero trace or parent ids
 * invalid, and a future version may append fields after a '-'.
 */
import type { PropagatedContext } from '../../core/signals';
import { TRACE_PARENT_HEADER, TRACE_STATE_HEADER } from './constants';
import { getHeader, type Headers } from './headers';

export interface W3cContext extends PropagatedContext {
  format: 'w3c';
  parentSpanId: string;
  /** the trace-flags byte */
  traceFlags: number;
}

const HEX2 = /^[0-9a-f]{2}$/;
const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
// A higher version keeps the four version-00 fields first; anything it adds follows a '-'.
const FUTURE_VERSION = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Parses a traceparent value; undefined when the spec says to ignore it. */
export function parseTraceParent(value: string): Omit<W3cContext, 'format' | 'traceState'> | undefined {
  // HTTP strips optional whitespace around field values; a value with inner spaces stays invalid.
  const v = value.trim();
  const version = v.slice(0, 2);
  if (!HEX2.test(version) || version === 'ff') return undefined;
  const m = version === '00' ? VERSION_00.exec(v) : FUTURE_VERSION.exec(v);
  if (!m) return undefined;
  const [, traceId, parentSpanId, flagsHex] = m;
  if (traceId === ZERO_TRACE_ID || parentSpanId === ZERO_SPAN_ID) return undefined;
  const traceFlags = parseInt(flagsHex, 16);
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
