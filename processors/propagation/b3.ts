/**
 * B3 extraction, single header (`b3: {TraceId}-{SpanId}-{SamplingState}-{ParentSpanId}`)
 * and multi-header (`X-B3-*`), after https://github.com/openzipkin/b3-propagation.
 * As OpenTelemetry JS does, hex case is accepted and normalised to lower case
 * and a 64-bit trace id is left-padded to 128 bits.
 */
import type { PropagatedContext } from '../../core/signals';
import { B3_CONTEXT_HEADER, X_B3_FLAGS, X_B3_PARENT_SPAN_ID, X_B3_SAMPLED, X_B3_SPAN_ID, X_B3_TRACE_ID } from './constants';
import { getHeader, type Headers } from './headers';
import { hexId } from './ids';

export interface B3Context extends PropagatedContext {
  format: 'b3';
  parentSpanId: string;
  /** debug (`d` or X-B3-Flags: 1): sampled, and the sender asked for it to be kept */
  debug: boolean;
  /** the id of the sender's parent span, as B3 carries it (not needed for linking) */
  senderParentSpanId?: string;
}

const TRACE_ID = /^([0-9a-f]{16}){1,2}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** A 16- or 32-digit trace id, 64-bit ones left-padded to 128 bits, as one flat string (ids.ts). */
function traceId(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim().toLowerCase();
  if (!TRACE_ID.test(t)) return undefined;
  const padded = hexId(t, 0, t.length === 16 ? 16 : 32, 32);
  return padded === ZERO_TRACE ? undefined : padded;
}

function spanId(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  return SPAN_ID.test(s) && s !== ZERO_SPAN ? hexId(s, 0, 16, 16) : undefined;
}

/** '1'/'0', plus 'true'/'false' that old Zipkin clients send. undefined: invalid; null: absent. */
function sampledFlag(v: string | undefined): boolean | undefined | null {
  if (v === undefined) return null;
  switch (v.trim().toLowerCase()) {
    case '1':
    case 'true':
      return true;
    case '0':
    case 'false':
      return false;
    default:
      return undefined;
  }
}

/**
 * `b3` single header. The sampling-only forms (`b3: 0`, `b3: 1`, `b3: d`)
 * carry no trace id, so there is no context to join: undefined.
 */
export function extractSingle(headers: Headers): B3Context | undefined {
  const raw = getHeader(headers, B3_CONTEXT_HEADER);
  if (raw === undefined) return undefined;
  const parts = raw.trim().split('-');
  if (parts.length < 2 || parts.length > 4) return undefined;
  const tid = traceId(parts[0]);
  const sid = spanId(parts[1]);
  if (!tid || !sid) return undefined;
  const ctx: B3Context = { format: 'b3', traceId: tid, parentSpanId: sid, debug: false };
  if (parts.length >= 3) {
    const s = parts[2];
    if (s === 'd') {
      ctx.debug = true;
      ctx.sampled = true;
    } else if (s === '1' || s === '0') {
      ctx.sampled = s === '1';
    } else {
      return undefined;
    }
  }
  if (parts.length === 4) {
    const p = spanId(parts[3]);
    if (!p) return undefined;
    ctx.senderParentSpanId = p;
  }
  return ctx;
}

export function extractMulti(headers: Headers): B3Context | undefined {
  const tid = traceId(getHeader(headers, X_B3_TRACE_ID));
  const sid = spanId(getHeader(headers, X_B3_SPAN_ID));
  if (!tid || !sid) return undefined;
  const ctx: B3Context = { format: 'b3', traceId: tid, parentSpanId: sid, debug: false };
  const sampled = sampledFlag(getHeader(headers, X_B3_SAMPLED));
  if (sampled === undefined) return undefined;
  if (sampled !== null) ctx.sampled = sampled;
  // Flags: 1 is debug, which implies sampled and overrides X-B3-Sampled.
  if (getHeader(headers, X_B3_FLAGS)?.trim() === '1') {
    ctx.debug = true;
    ctx.sampled = true;
  }
  const rawParent = getHeader(headers, X_B3_PARENT_SPAN_ID);
  if (rawParent !== undefined) {
    const p = spanId(rawParent);
    if (!p) return undefined;
    ctx.senderParentSpanId = p;
  }
  return ctx;
}

/** Single header first, as OpenTelemetry JS's B3Propagator does on extract. */
export function extract(headers: Headers): B3Context | undefined {
  return extractSingle(headers) ?? extractMulti(headers);
}
