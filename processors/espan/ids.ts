/**
 * Deterministic ids from a message's identity. Both ends of the pipeline (the
 * agent and a linker re-deriving nothing) must see the same id for the same
 * message, and per-span randomness (crypto.randomBytes) cost more than OTLP
 * serialisation, so ids are a cheap non-cryptographic hash of fields that
 * identify the message on its host.
 */
import type { L7Message } from '../../core/signals';

/** Two 32-bit lanes of a murmur-style mix over the string's UTF-16 units (cyrb53's scheme). */
function mix(s: string, seed: number, out: Uint32Array): void {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  out[0] = h1;
  out[1] = h2;
}

const lanes = new Uint32Array(2);

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** 16 hex chars, never all zero (an all-zero id is invalid in OTLP). */
export function hash64Hex(key: string, seed = 0): string {
  mix(key, seed, lanes);
  if (lanes[0] === 0 && lanes[1] === 0) lanes[1] = 1;
  return hex8(lanes[0]) + hex8(lanes[1]);
}

/** 32 hex chars. */
export function hash128Hex(key: string): string {
  return hash64Hex(key, 0x9e3779b9) + hash64Hex(key, 0x7f4a7c15);
}

/**
 * In-process trace id of a server request: host, process, thread and the
 * request's first-byte sequence number and read time identify it.
 */
export function threadTraceIdOf(m: L7Message): string {
  return hash128Hex(`${m.host.hostId}|${m.pid}|${m.tid}|${m.reqSeq}|${m.reqStart}`);
}

/** Span id of the message's eSpan: its connection, role and request identify it on its host. */
export function spanIdOf(m: L7Message): string {
  return hash64Hex(`${m.host.hostId}|${m.connId}|${m.role}|${m.reqSeq}|${m.reqStart}`);
}
