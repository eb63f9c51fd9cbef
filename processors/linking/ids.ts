/**
 * Trace ids derived from a root span. Deterministic, so every linker replica
 * and a replay give the same id; a cheap non-cryptographic hash because
 * drawing random bytes per trace costs more than serialising it.
 */
import { cyrb128, hex128 } from '../../core/hash';

const lanes = new Uint32Array(4);

/** 32 lower-case hex chars, never all zero (invalid in OTLP and W3C). */
export function traceIdFrom(key: string): string {
  cyrb128(key, lanes);
  if ((lanes[0] | lanes[1] | lanes[2] | lanes[3]) === 0) lanes[3] = 1;
  // spelled as one flat string, no Buffer written and hex-encoded per trace
  return hex128(lanes);
}
