/**
 * Deterministic ids from a message's identity. The same message must always
 * get the same id (the agent derives it, a linker joins on it), and per-span
 * randomness (crypto.randomBytes) cost more than OTLP serialisation, so ids
 * are a cheap non-cryptographic hash (two murmur3 lanes) of the fields that
 * identify the message on its host, fed as 32-bit words: building a key string
 * first cost more than the hash.
 */
import type { HostInfo, L7Message } from '../../core/signals';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
let h1 = 0;
let h2 = 0;

function begin(seed: number): void {
  h1 = seed ^ 0x9e3779b9;
  h2 = seed ^ 0x85ebca6b;
}

function word(w: number): void {
  let k = Math.imul(w, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h1 ^= k;
  h1 = (h1 << 13) | (h1 >>> 19);
  h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  h2 ^= Math.imul(k, 0x2b3d4e5f) ^ w;
  h2 = (h2 << 17) | (h2 >>> 15);
  h2 = (Math.imul(h2, 9) + 0x7a3f1c2d) | 0;
}

/** A non-negative integer below 2^53 as two words. */
function number(x: number): void {
  word(x >>> 0);
  word((x / 4294967296) >>> 0);
}

function text(s: string): void {
  for (let i = 0; i < s.length; i++) word(s.charCodeAt(i));
  word(s.length);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(h: number): string {
  return HEX[(h >>> 24) & 255] + HEX[(h >>> 16) & 255] + HEX[(h >>> 8) & 255] + HEX[h & 255];
}

/** 16 hex chars from the current lanes, never all zero (an all-zero id is invalid in OTLP). */
function finish64(): string {
  const a = fmix(h1 ^ h2);
  let b = fmix(h2 + Math.imul(a, 0x27d4eb2d));
  if (a === 0 && b === 0) b = 1;
  return hex32(a) + hex32(b);
}

/** Hash of a host id, computed once per HostInfo object (shared by all of a host's records). */
const hostWords = new WeakMap<HostInfo, number>();
function hostWord(host: HostInfo): number {
  let w = hostWords.get(host);
  if (w === undefined) {
    begin(0x68737421);
    text(host.hostId);
    w = fmix(h1 ^ h2);
    hostWords.set(host, w);
  }
  return w;
}

/** 16 hex chars of any string (tests, keys that are not messages). */
export function hash64Hex(key: string, seed = 0): string {
  begin(seed);
  text(key);
  return finish64();
}

/**
 * In-process trace id of a server request: host, process, thread and the
 * request's first-byte sequence number and read time identify it.
 */
export function threadTraceIdOf(m: L7Message): string {
  const host = hostWord(m.host);
  begin(0x54485244);
  word(host);
  word(m.pid);
  word(m.tid);
  word(m.reqSeq >>> 0);
  number(m.reqStart);
  const hi = finish64();
  begin(0x74687264);
  word(host);
  word(m.pid);
  word(m.tid);
  word(m.reqSeq >>> 0);
  number(m.reqStart);
  return hi + finish64();
}

/** Span id of the message's eSpan: its connection, role and request identify it on its host. */
export function spanIdOf(m: L7Message): string {
  const host = hostWord(m.host); // before begin(): it uses the same lanes
  begin(0x5350414e);
  word(host);
  text(m.connId);
  word(m.role === 'server' ? 1 : 2);
  word(m.reqSeq >>> 0);
  number(m.reqStart);
  return finish64();
}
