/**
 * Trace ids derived from a root span. Deterministic, so every linker replica
 * and a replay give the same id; a cheap non-cryptographic hash because
 * drawing random bytes per trace costs more than serialising it.
 */
import { cyrb128, cyrb128Codes, hex128 } from '../../core/hash';

const lanes = new Uint32Array(4);

/** 32 lower-case hex chars, never all zero (invalid in OTLP and W3C). */
export function traceIdFrom(key: string): string {
  cyrb128(key, lanes);
  if ((lanes[0] | lanes[1] | lanes[2] | lanes[3]) === 0) lanes[3] = 1;
  // spelled as one flat string, no Buffer written and hex-encoded per trace
  return hex128(lanes);
}

/**
 * The trace id of a group whose root span is `spanId`, starting at `startNs`
 * (ns since the epoch, as a double): traceIdFrom(`${spanId}|${startNs}`), the
 * key hashed as its characters come, without the key or the number's text
 * made (String(startNs) alone took ~200 ns, the whole id ~400-650).
 */
export function rootTraceId(spanId: string, startNs: number): string {
  // a long span id (or none, from a malformed producer) is spelled into the key as before
  if (typeof spanId !== 'string' || spanId.length > MAX_SPAN_ID) return traceIdFrom(`${spanId}|${startNs}`);
  const codes = key;
  for (let i = 0; i < spanId.length; i++) codes[i] = spanId.charCodeAt(i);
  codes[spanId.length] = BAR;
  const n = writeNumberText(startNs, codes, spanId.length + 1);
  cyrb128Codes(codes, n, lanes);
  if ((lanes[0] | lanes[1] | lanes[2] | lanes[3]) === 0) lanes[3] = 1;
  return hex128(lanes);
}

/** rootTraceId's scratch, the key as character codes: a span id (16 characters as espan makes them), '|', the start (String of any double is shorter than 32) */
const MAX_SPAN_ID = 64;
const key = new Uint16Array(MAX_SPAN_ID + 1 + 32);
const BAR = '|'.charCodeAt(0);
const ZERO = '0'.charCodeAt(0);
const TWO_52 = 2 ** 52;
const TWO_53 = 2 ** 53;
const TWO_62 = 2 ** 62;

/**
 * writeNumberText's carry from the start before: the spacing of doubles in
 * [ulpFrom, ulpTo), and the digits of the last `hi` (seconds since the
 * epoch, shared by the starts of one second). Worked out again only when a
 * start leaves them: the two loops took a fifth of a root span's trace id (211 -> 170 ns).
 */
let ulpOfRange = 0;
let ulpFrom = Infinity;
let ulpTo = -Infinity;
let lastHi = -1;
let hiDigits = 0;
const hiCodes = new Uint16Array(10);

/**
 * Writes `String(x)` into `out` from `at` as character codes and returns
 * where it ends.
 * A double of ns since the epoch is an integer past 2^53, a multiple of its
 * spacing `ulp` (256 today), and JavaScript spells it as the decimal integer
 * with the fewest significant digits that reads back as `x`, the closest to
 * `x` among those (ECMA-262 Number::toString): `x` rounded at the most
 * decimal digits that keep it within half an ulp. That is worked out here
 * without the general conversion; the rest (smaller, larger, fractions, a
 * rounding that reaches the 10^9 digit) is copied from String.
 */
export function writeNumberText(x: number, out: Uint16Array, at = 0): number {
  // x = hi * 10^9 + lo exactly: hi * 10^9 = hi * 1953125 * 2^9, below 2^53 * 2^9
  const hi = Math.floor(x / 1e9);
  const lo = x - hi * 1e9;
  if (!(x >= TWO_53 && x < TWO_62) || lo < 0 || lo >= 1e9) return writeText(String(x), out, at);
  if (!(x >= ulpFrom && x < ulpTo)) {
    // the smallest power of two from 2 up with x < ulp * 2^53: x lies in [ulp * 2^52, ulp * 2^53)
    let ulp = 2;
    while (x >= ulp * TWO_53) ulp *= 2;
    ulpOfRange = ulp;
    ulpFrom = ulp * TWO_52;
    ulpTo = ulp * TWO_53;
  }
  const ulp = ulpOfRange;
  const half = ulp / 2;
  // a decimal exactly half an ulp away reads back as x only if x's significand is even (ties to even)
  const edgeIn = (x / ulp) % 2 === 0;
  // the last digits rounded off (to the nearer multiple of p, a tie to the even one) while that stays within;
  // int32 arithmetic below 10^9
  const lo32 = lo | 0;
  let low = lo32;
  for (let p = 10; ; p *= 10) {
    const r = lo32 % p;
    const down = r < half || (r === half && edgeIn);
    const up = p - r < half || (p - r === half && edgeIn);
    if (!down && !up) break;
    if (p === 1e9) return writeText(String(x), out, at);
    low = down && (!up || r < p - r || (r === p - r && ((lo32 - r) / p) % 2 === 0)) ? lo32 - r : lo32 - r + p;
  }
  if (low >= 1e9) return writeText(String(x), out, at);
  // hi's digits (up to 10), then low's 9, from the last
  if (hi !== lastHi) {
    let digits = 1;
    for (let p = 10; p <= hi; p *= 10) digits++;
    for (let i = digits - 1, h = hi; i >= 0; i--) {
      const q = Math.floor(h / 10);
      hiCodes[i] = ZERO + h - 10 * q;
      h = q;
    }
    hiDigits = digits;
    lastHi = hi;
  }
  for (let i = 0; i < hiDigits; i++) out[at + i] = hiCodes[i];
  const end = at + hiDigits + 9;
  for (let i = end - 1; i >= at + hiDigits; i--) {
    const q = (low / 10) | 0;
    out[i] = ZERO + low - 10 * q;
    low = q;
  }
  return end;
}

function writeText(s: string, out: Uint16Array, at: number): number {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  return at + s.length;
}
