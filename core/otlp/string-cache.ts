/**
 * Strings of short ASCII values read before, found by their bytes. Attribute
 * values repeat from span to span (`tcp`, `GET`, an address, the host id);
 * comparing a few bytes with a string already made costs less than making
 * the string again (a call into the UTF-8 decoder and a new heap object).
 *
 * Direct-mapped: one string per slot, chosen by the length and a few bytes, replaced
 * on a miss, so values that never repeat cost a hash and a compare, and the
 * table never grows.
 */

const SLOTS = 4096;
/** longer values are decoded each time: they rarely repeat and cost more to compare */
const MAX_BYTES = 48;

export class StringCache {
  /** held strings, all ASCII: a held string equals bytes when each char code equals its byte */
  private readonly slots: string[] = new Array<string>(SLOTS).fill('');
  /** the slot the last `find` missed in, for `keep`; -1 when its bytes are not cached */
  private missed = -1;

  /** The text of buf[start, end) when it is held; else undefined, and the caller decodes it and calls `keep`. */
  find(buf: Uint8Array, start: number, end: number): string | undefined {
    this.missed = -1;
    const n = end - start;
    if (n > MAX_BYTES) return undefined;
    // the slot from the length and the last bytes (where values of one kind differ: ports,
    // counters, addresses), so that a miss costs a few bytes, not a pass over all of them
    let h = Math.imul(n, 0x9e3779b1);
    for (let i = Math.max(start, end - 6); i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    if (n > 6) h = Math.imul(h ^ buf[start], 0x01000193);
    const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
    const held = this.slots[slot];
    if (held.length === n) {
      let i = 0;
      while (i < n && held.charCodeAt(i) === buf[start + i]) i++;
      if (i === n) return held;
    }
    this.missed = slot;
    return undefined;
  }

  /** Holds the text the last `find` missed, when it is ASCII. */
  keep(s: string): void {
    const slot = this.missed;
    this.missed = -1;
    if (slot < 0) return;
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return;
    this.slots[slot] = s;
  }
}
