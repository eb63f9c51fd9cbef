/**
 * Trace ids derived from a root span. Deterministic, so every linker replica
 * and a replay give the same id; a cheap non-cryptographic hash because
 * drawing random bytes per trace costs more than serialising it.
 */

const lanes = new Uint32Array(4);

/** Four 32-bit murmur-style lanes over the UTF-16 units of `s` (cyrb128's scheme). */
function mix128(s: string): void {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < s.length; i++) {
    const k = s.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  lanes[0] = h1;
  lanes[1] = h2;
  lanes[2] = h3;
  lanes[3] = h4;
}

const scratch = Buffer.allocUnsafe(16);

/** 32 lower-case hex chars, never all zero (invalid in OTLP and W3C). */
export function traceIdFrom(key: string): string {
  mix128(key);
  if ((lanes[0] | lanes[1] | lanes[2] | lanes[3]) === 0) lanes[3] = 1;
  scratch.writeUInt32BE(lanes[0], 0);
  scratch.writeUInt32BE(lanes[1], 4);
  scratch.writeUInt32BE(lanes[2], 8);
  scratch.writeUInt32BE(lanes[3], 12);
  return scratch.toString('hex');
}
