/**
 * Datadog header extraction. Ids are unsigned 64-bit decimals (BigInt: they
 * exceed 2^53); a 128-bit trace id carries its upper half as 16 hex chars in
 * the `_dd.p.tid` member of `x-datadog-tags`.
 */
import { hex64 } from '../../core/hash';
import type { PropagatedContext } from '../../core/signals';
import {
  DATADOG_ORIGIN_HEADER,
  DATADOG_PARENT_ID_HEADER,
  DATADOG_SAMPLING_PRIORITY_HEADER,
  DATADOG_TAGS_HEADER,
  DATADOG_TID_TAG,
  DATADOG_TRACE_ID_HEADER,
} from './constants';
import { getHeader, type Headers } from './headers';
import { hexId } from './ids';

export interface DatadogContext extends PropagatedContext {
  format: 'datadog';
  /** true when `_dd.p.tid` gave the upper 64 bits */
  is128Bit: boolean;
}

const MAX_U64 = (1n << 64n) - 1n;
const DECIMAL = /^[0-9]{1,20}$/;
const TID = /^[0-9a-f]{16}$/;
const PRIORITY = /^-?[0-9]{1,3}$/;

/** A non-zero unsigned 64-bit decimal as 16 hex chars, else undefined. */
export function decimalToHex64(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (!DECIMAL.test(v)) return undefined;
  const n = BigInt(v);
  if (n === 0n || n > MAX_U64) return undefined;
  // spelled from its two words: toString(16).padStart joined the zeros and the digits into a rope every span holding it kept
  return hex64(Number(n >> 32n) | 0, Number(n & 0xffffffffn) | 0);
}

/** The `_dd.p.tid` member of x-datadog-tags when well formed and non-zero. */
function upperTraceIdFromTags(tags: string | undefined): string | undefined {
  if (!tags) return undefined;
  for (const member of tags.split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0 || member.slice(0, eq).trim() !== DATADOG_TID_TAG) continue;
    const tid = member.slice(eq + 1).trim();
    // A malformed tid is ignored (Datadog's tracers tag it _dd.propagation_error) and the lower 64 bits still count.
    return TID.test(tid) && tid !== '0000000000000000' ? tid : undefined;
  }
  return undefined;
}

export function extract(headers: Headers): DatadogContext | undefined {
  const lower = decimalToHex64(getHeader(headers, DATADOG_TRACE_ID_HEADER));
  if (!lower) return undefined;
  const parentRaw = getHeader(headers, DATADOG_PARENT_ID_HEADER);
  const parentSpanId = decimalToHex64(parentRaw);
  // A parent header that is present but bad makes the whole context suspect; an absent one is
  // legitimate (synthetics and RUM start traces without one).
  if (parentRaw !== undefined && !parentSpanId) return undefined;
  const upper = upperTraceIdFromTags(getHeader(headers, DATADOG_TAGS_HEADER));
  const ctx: DatadogContext = {
    format: 'datadog',
    // one flat string (ids.ts), not the rope of its two halves
    traceId: hexId(`${upper ?? '0000000000000000'}${lower}`, 0, 32, 32)!,
    is128Bit: upper !== undefined,
  };
  if (parentSpanId) ctx.parentSpanId = parentSpanId;
  const prio = getHeader(headers, DATADOG_SAMPLING_PRIORITY_HEADER)?.trim();
  if (prio !== undefined && PRIORITY.test(prio)) {
    ctx.priority = Number(prio);
    // USER_REJECT -1 and AUTO_REJECT 0 drop; AUTO_KEEP 1 and USER_KEEP 2 keep.
    ctx.sampled = ctx.priority > 0;
  }
  const origin = getHeader(headers, DATADOG_ORIGIN_HEADER)?.trim();
  if (origin) ctx.origin = origin;
  return ctx;
}
