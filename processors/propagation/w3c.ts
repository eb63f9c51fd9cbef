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

/** The characters of a key after its first, and of a multi-tenant key's tenant and system after theirs: '_', '-', '*', '/', digits, lower-case letters. */
const KEY_CHAR = new Uint8Array(128);
for (const c of '_-*/0123456789abcdefghijklmnopqrstuvwxyz') KEY_CHAR[c.charCodeAt(0)] = 1;
const isLetter = (c: number): boolean => c >= 0x61 && c <= 0x7a;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const SPACE = 0x20;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const AT = 0x40;

/** What scanTraceState finds: the value valid and already in normal form, invalid, or neither (spaces to trim, empty members, other characters). */
const enum TraceStateForm {
  NORMAL,
  INVALID,
  OTHER,
}

/** Whether `v[s, e)` is a key as MEMBER reads one: SIMPLE_KEY (up to 256 characters), or MULTI_TENANT_KEY (a tenant of up to 241, '@', a system of up to 14). */
function isKey(v: string, s: number, e: number): boolean {
  let at = -1;
  for (let i = s + 1; i < e; i++) {
    const c = v.charCodeAt(i);
    if (c === AT && at < 0) at = i;
    else if (c >= 128 || KEY_CHAR[c] === 0) return false;
  }
  const c0 = v.charCodeAt(s);
  if (at < 0) return isLetter(c0) && e - s <= 256;
  return (isLetter(c0) || isDigit(c0)) && at - s <= 241 && isLetter(v.charCodeAt(at + 1)) && e - at - 1 <= 14;
}

/** Whether the keys at `v[a, a + n)` and `v[b, b + n)` are the same. */
function sameKey(v: string, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (v.charCodeAt(a + i) !== v.charCodeAt(b + i)) return false;
  return true;
}

/** the keys of the members scanned so far, as start and length, two by member */
const KEYS = new Int32Array(2 * 32);

/**
 * A tracestate checked in place, without splitting it or a regular
 * expression per member (two members cost ~1 µs that way): NORMAL when
 * every member is valid, none is empty and none has spaces around it (then
 * the value is its own normal form), INVALID when a member without spaces
 * around it breaks MEMBER's grammar or repeats a key, or there are more
 * than 32, OTHER when it has spaces to trim, an empty member or a character
 * outside printable ASCII (parseTraceState's general path decides).
 */
function scanTraceState(v: string): TraceStateForm {
  let members = 0;
  for (let s = 0; s <= v.length; ) {
    let e = s;
    let equals = -1;
    let moreEquals = false;
    for (; e < v.length; e++) {
      const c = v.charCodeAt(e);
      if (c === COMMA) break;
      if (c < SPACE || c > 0x7e) return TraceStateForm.OTHER;
      if (c === EQUALS) {
        if (equals < 0) equals = e;
        else moreEquals = true;
      }
    }
    if (e === s || v.charCodeAt(s) === SPACE || v.charCodeAt(e - 1) === SPACE) return TraceStateForm.OTHER;
    // the key before the first '='; the value after it: 1 to 256 characters, no '=' (nor ',', which ends it), not ending in a space (checked above)
    if (equals <= s || moreEquals || e - equals - 1 < 1 || e - equals - 1 > 256) return TraceStateForm.INVALID;
    if (!isKey(v, s, equals) || members === 32) return TraceStateForm.INVALID;
    const n = equals - s;
    for (let k = 0; k < members; k++) if (KEYS[2 * k + 1] === n && sameKey(v, KEYS[2 * k], s, n)) return TraceStateForm.INVALID;
    KEYS[2 * members] = s;
    KEYS[2 * members + 1] = n;
    members++;
    s = e + 1;
  }
  return TraceStateForm.NORMAL;
}

/**
 * Validates a tracestate value and returns it normalised (members joined by
 * ','), or undefined when invalid: the spec says an invalid tracestate is
 * discarded while the traceparent still counts. A value already normal, as
 * SDKs send it, is checked in place (scanTraceState) and returned as it is.
 */
export function parseTraceState(value: string): string | undefined {
  const form = scanTraceState(value);
  if (form === TraceStateForm.NORMAL) return value;
  if (form === TraceStateForm.INVALID) return undefined;
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
