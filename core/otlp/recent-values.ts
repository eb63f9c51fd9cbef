/**
 * The values each attribute key had lately, by the bytes they were written
 * as. Most keys' values repeat from span to span (`tcp`, `GET`, a port, the
 * host id): bytes written as before are the value read before, found by
 * comparing a few words instead of reading the value again and making a
 * new string or number.
 *
 * Two values per key, the older replaced, so keys whose values alternate (a
 * path, a peer address) keep both. Held in typed arrays: a value kept costs
 * no allocation besides the value itself.
 */
import type { AttributeValue } from '../signals';

/** longer values are not held (they rarely repeat) */
export const MAX_VALUE_BYTES = 48;
/** per slot: the value's whole words, then the word of its last four bytes (or all of them, when shorter) */
const SLOT_WORDS = MAX_VALUE_BYTES / 4 + 1;

/** The last four bytes of view[start, end) as a word; fewer, zero-padded, when shorter. */
function lastWord(view: DataView, start: number, end: number): number {
  if (end - start >= 4) return view.getInt32(end - 4, true);
  let w = 0;
  for (let i = end - 1; i >= start; i--) w = (w << 8) | view.getUint8(i);
  return w;
}

export class RecentValues {
  private readonly words: Int32Array;
  /** byte length of each slot's value; -1 while empty */
  private readonly lengths: Int32Array;
  private readonly values: AttributeValue[];
  /** per key: the slot to replace next, the one not found last */
  private readonly next: Uint8Array;

  constructor(keys: number) {
    this.words = new Int32Array(keys * 2 * SLOT_WORDS);
    this.lengths = new Int32Array(keys * 2).fill(-1);
    this.values = new Array<AttributeValue>(keys * 2).fill('');
    this.next = new Uint8Array(keys);
  }

  /** The value key `key` had when written as view[start, end), if it is one of the two held. */
  find(key: number, view: DataView, start: number, end: number): AttributeValue | undefined {
    const n = end - start;
    if (n > MAX_VALUE_BYTES) return undefined;
    const slot = key * 2;
    if (this.lengths[slot] === n && this.holds(slot, view, start, n)) {
      this.next[key] = 1;
      return this.values[slot];
    }
    if (this.lengths[slot + 1] === n && this.holds(slot + 1, view, start, n)) {
      this.next[key] = 0;
      return this.values[slot + 1];
    }
    return undefined;
  }

  private holds(slot: number, view: DataView, start: number, n: number): boolean {
    const words = this.words;
    const at = slot * SLOT_WORDS;
    const whole = n >> 2;
    for (let i = 0; i < whole; i++) if (view.getInt32(start + 4 * i, true) !== words[at + i]) return false;
    return lastWord(view, start, start + n) === words[at + SLOT_WORDS - 1];
  }

  /** Holds `value` as what key `key` written as view[start, end) reads as, in place of the one of its two not found last. */
  keep(key: number, view: DataView, start: number, end: number, value: AttributeValue): void {
    const n = end - start;
    if (n > MAX_VALUE_BYTES) return;
    const slot = key * 2 + this.next[key];
    this.next[key] ^= 1;
    const at = slot * SLOT_WORDS;
    for (let i = 0; i < n >> 2; i++) this.words[at + i] = view.getInt32(start + 4 * i, true);
    this.words[at + SLOT_WORDS - 1] = lastWord(view, start, end);
    this.lengths[slot] = n;
    this.values[slot] = value;
  }
}
