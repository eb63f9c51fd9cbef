/**
 * espan's own non-cryptographic hashes: ids derived from what identifies a
 * message or a trace (the same capture gives the same ids on every host, run
 * and replay, and drawing random bytes per span costs more than serialising
 * it), and the hashes of string-keyed tables. Changing any of these changes
 * the ids espan emits.
 *
 * Not here: the probabilistic sampling policy's hash, which is the Collector's
 * (FNV-1a 64 over bytes) and must stay bit-identical to it.
 */

export const FNV1A32_OFFSET = 0x811c9dc5;

/** FNV-1a (32-bit) over the UTF-16 units of `s`, from `seed`. Its low bits are weak: spread them (fmix32) before masking. */
export function fnv1a32(s: string, seed = FNV1A32_OFFSET): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** murmur3's 32-bit finaliser: every input bit reaches every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** cyrb128: four 32-bit murmur-style lanes over the UTF-16 units of `s`, written to `out`. */
export function cyrb128(s: string, out: Uint32Array): void {
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
  cyrb128Finish(h1, h2, h3, h4, out);
}

/** cyrb128 of the first `n` character codes in `codes`: the same lanes as of the string they spell, with no string made. */
export function cyrb128Codes(codes: Uint16Array, n: number, out: Uint32Array): void {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < n; i++) {
    const k = codes[i];
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  cyrb128Finish(h1, h2, h3, h4, out);
}

function cyrb128Finish(h1: number, h2: number, h3: number, h4: number, out: Uint32Array): void {
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  out[0] = h1;
  out[1] = h2 ^ h1;
  out[2] = h3 ^ h1;
  out[3] = h4 ^ h1;
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const HEX_DIGIT: number[] = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const digit = (h: number, shift: number): number => HEX_DIGIT[(h >>> shift) & 15];

/**
 * 16 hex chars of `a` then `b`, as one flat string: joining two halves would
 * make a rope (a cons string and its two parts, 80 bytes instead of 32) that
 * every held span and remembered link keeps.
 */
export function hex64(a: number, b: number): string {
  return String.fromCharCode(
    digit(a, 28), digit(a, 24), digit(a, 20), digit(a, 16), digit(a, 12), digit(a, 8), digit(a, 4), digit(a, 0),
    digit(b, 28), digit(b, 24), digit(b, 20), digit(b, 16), digit(b, 12), digit(b, 8), digit(b, 4), digit(b, 0),
  );
}

/** 32 hex chars of `words[at..at+3]`, as one flat string (as hex64, with no halves made first). */
export function hex128(words: Uint32Array, at = 0): string {
  const a = words[at];
  const b = words[at + 1];
  const c = words[at + 2];
  const d = words[at + 3];
  return String.fromCharCode(
    digit(a, 28), digit(a, 24), digit(a, 20), digit(a, 16), digit(a, 12), digit(a, 8), digit(a, 4), digit(a, 0),
    digit(b, 28), digit(b, 24), digit(b, 20), digit(b, 16), digit(b, 12), digit(b, 8), digit(b, 4), digit(b, 0),
    digit(c, 28), digit(c, 24), digit(c, 20), digit(c, 16), digit(c, 12), digit(c, 8), digit(c, 4), digit(c, 0),
    digit(d, 28), digit(d, 24), digit(d, 20), digit(d, 16), digit(d, 12), digit(d, 8), digit(d, 4), digit(d, 0),
  );
}

/** A word of WordHash64 as mixed into both lanes (murmur3's scramble). */
function scrambled(w: number): number {
  const k = Math.imul(w, C1);
  return Math.imul((k << 15) | (k >>> 17), C2);
}

function lane1(h1: number, k: number): number {
  h1 ^= k;
  h1 = (h1 << 13) | (h1 >>> 19);
  return (Math.imul(h1, 5) + 0xe6546b64) | 0;
}

function lane2(h2: number, k: number, w: number): number {
  h2 ^= Math.imul(k, 0x2b3d4e5f) ^ w;
  h2 = (h2 << 17) | (h2 >>> 15);
  return (Math.imul(h2, 9) + 0x7a3f1c2d) | 0;
}

const LANE1_SEED = 0x9e3779b9;
const LANE2_SEED = 0x85ebca6b;

/** The second word of a WordHash64's 64 bits, after `a`; not 0 when `a` is. */
function secondWord(h2: number, a: number): number {
  // the sum cut to 32 bits here, as fmix32's first step cuts it: beyond them it was boxed whenever fmix32 was not inlined
  const b = fmix32((h2 + Math.imul(a, 0x27d4eb2d)) | 0);
  return a === 0 && b === 0 ? 1 : b;
}

/**
 * A 64-bit hash fed 32-bit words, in two murmur3 lanes: the fields that
 * identify something are fed one by one, as building a key string first
 * costs more than the hash.
 */
export class WordHash64 {
  private h1 = 0;
  private h2 = 0;

  begin(seed: number): void {
    this.h1 = seed ^ LANE1_SEED;
    this.h2 = seed ^ LANE2_SEED;
  }

  word(w: number): void {
    const k = scrambled(w);
    this.h1 = lane1(this.h1, k);
    this.h2 = lane2(this.h2, k, w);
  }

  /**
   * `words[0..n)` as word() would feed them one by one, with the lanes held
   * in locals meanwhile: an id's few words cost about half as much (a field
   * written back per word cost more than the mixing).
   */
  words(words: Uint32Array, n: number): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < n; i++) {
      const w = words[i];
      const k = scrambled(w);
      h1 = lane1(h1, k);
      h2 = lane2(h2, k, w);
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  /** Each UTF-16 unit as a word, then the length (lanes in locals, as in words()). */
  text(s: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const w = s.charCodeAt(i);
      const k = scrambled(w);
      h1 = lane1(h1, k);
      h2 = lane2(h2, k, w);
    }
    this.h1 = h1;
    this.h2 = h2;
    this.word(s.length);
  }

  /** The lanes as fed so far, to `out[at]` and `out[at + 1]`: words that many hashes start with are fed once, then resumed from. */
  save(out: Int32Array, at: number): void {
    out[at] = this.h1;
    out[at + 1] = this.h2;
  }

  /** Goes on from the two lanes that save() wrote, as if their words were fed again. */
  resume(h1: number, h2: number): void {
    this.h1 = h1;
    this.h2 = h2;
  }

  /** The lanes folded to 32 bits. */
  fold32(): number {
    return fmix32(this.h1 ^ this.h2);
  }

  /**
   * 16 hex chars from the lanes, never all zero (an all-zero id is invalid in
   * OTLP). The words go to hex64 as signed 32-bit integers, which V8 passes as
   * they are: as unsigned ones (read back from a Uint32Array) half of them
   * were boxed into a heap number each, 16 bytes of garbage per id.
   */
  hex16(): string {
    const a = fmix32(this.h1 ^ this.h2);
    return hex64(a, secondWord(this.h2, a));
  }

  /** The 64 bits hex16 spells, as two words to `out[at]` and `out[at + 1]`: ids longer than one hash are spelled at once (hex128). */
  bits64(out: Uint32Array, at: number): void {
    const a = fmix32(this.h1 ^ this.h2);
    out[at] = a;
    out[at + 1] = secondWord(this.h2, a);
  }
}

/**
 * The 128 bits of two WordHash64 of `words[0..n)`, seeded `seedA` and
 * `seedB`, to `out[at..at+3]`: what begin(seedA), words(words, n) and
 * bits64(out, at), then the same with seedB to `out[at + 2]`, give, in one
 * pass that scrambles each word once for both.
 */
export function wordHash128(seedA: number, seedB: number, words: Uint32Array, n: number, out: Uint32Array, at: number): void {
  let a1 = seedA ^ LANE1_SEED;
  let a2 = seedA ^ LANE2_SEED;
  let b1 = seedB ^ LANE1_SEED;
  let b2 = seedB ^ LANE2_SEED;
  for (let i = 0; i < n; i++) {
    const w = words[i];
    const k = scrambled(w);
    a1 = lane1(a1, k);
    a2 = lane2(a2, k, w);
    b1 = lane1(b1, k);
    b2 = lane2(b2, k, w);
  }
  const a = fmix32(a1 ^ a2);
  out[at] = a;
  out[at + 1] = secondWord(a2, a);
  const b = fmix32(b1 ^ b2);
  out[at + 2] = b;
  out[at + 3] = secondWord(b2, b);
}
