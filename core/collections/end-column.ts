/**
 * Ends of time ranges by entry number, each kept as its length from the
 * range's start (held by the owner) in 32 bits where a Float64Array took 64:
 * in units of 256 ns, the spacing of doubles of ns since the epoch from
 * 2^60 (2006) to 2^61 (2043), so up to ~1,100 s. A length is kept only when
 * start + length reads back as the very end; any other end (longer, off the
 * unit, before its start) is kept as it is in a side map. Made at the
 * capacity; a zero length is not written over a zero, so the pages of
 * entries without a range (0, 0) stay untouched.
 */

/** ns per unit of a stored length */
const TICK = 256;
/** a length that does not fit: the end is in the side map */
const ASIDE = 0xffffffff;

export class EndColumn {
  private lengths: Uint32Array;
  private readonly aside = new Map<number, number>();

  constructor(capacity: number) {
    this.lengths = new Uint32Array(capacity);
  }

  set(i: number, start: number, end: number): void {
    const length = (end - start) / TICK;
    if (length >>> 0 === length && length !== ASIDE && start + length * TICK === end) {
      if (length !== 0 || this.lengths[i] !== 0) this.lengths[i] = length;
      if (this.aside.size > 0) this.aside.delete(i);
    } else {
      this.lengths[i] = ASIDE;
      this.aside.set(i, end);
    }
  }

  /** The end of entry `i`, whose range starts at `start`. */
  get(i: number, start: number): number {
    const length = this.lengths[i];
    return length !== ASIDE ? start + length * TICK : this.aside.get(i)!;
  }

  /** Drops entry `i`'s side value, if any: an entry no longer used keeps nothing in the map. */
  clear(i: number): void {
    if (this.aside.size > 0) this.aside.delete(i);
  }

  /** Room for `n` entries, the first ones kept. */
  resize(n: number): void {
    const lengths = new Uint32Array(n);
    lengths.set(this.lengths.subarray(0, Math.min(n, this.lengths.length)));
    this.lengths = lengths;
  }
}
