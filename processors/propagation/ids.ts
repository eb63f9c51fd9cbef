/**
 * Trace and span ids as spans keep them: lower-case hex, each one flat
 * string of its own. A span holds its ids through the linking and
 * tail-sampling waits, and a slice of a header value (a regular expression's
 * capture, a part split off) keeps the value's text with it, a padded or
 * joined id its parts: the digits are read into 32-bit words and spelled
 * again from them (core/hash.ts).
 */
import { hex128, hex64 } from '../../core/hash';

/** Lower-case hex digits' values by character code, -1 for every other ASCII character. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let d = 0; d < 16; d++) NIBBLE['0123456789abcdef'.charCodeAt(d)] = d;

/** The value of the lower-case hex digit at `v[at]`, -1 for any other character (or none). */
export function hexDigit(v: string, at: number): number {
  const c = v.charCodeAt(at);
  return c < 128 ? NIBBLE[c] : -1;
}

/** an id's words: a 64-bit id's two after two zero words */
const WORDS = new Uint32Array(4);

/**
 * The `digits` (16 or 32) lower-case hex digits of `v` from `at`, left-padded
 * with zeros to `width` (16 or 32), as one flat string; undefined if one of
 * them is not such a digit.
 */
export function hexId(v: string, at: number, digits: 16 | 32, width: 16 | 32): string | undefined {
  const words = digits >> 3;
  const from = 4 - words;
  WORDS[0] = WORDS[1] = 0;
  for (let w = 0; w < words; w++) {
    let word = 0;
    for (let i = at + 8 * w, end = i + 8; i < end; i++) {
      const d = hexDigit(v, i);
      if (d < 0) return undefined;
      word = (word << 4) | d;
    }
    WORDS[from + w] = word;
  }
  // signed words to hex64: V8 passes them as they are, where unsigned ones above 2^31 were boxed
  return width === 32 ? hex128(WORDS, 0) : hex64(WORDS[2] | 0, WORDS[3] | 0);
}
