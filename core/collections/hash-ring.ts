/**
 * Entry numbers for a bounded set of records found by a 32-bit hash, for
 * owners that keep the records themselves in columns (typed arrays by entry
 * number). The `capacity` most recently added are held: the entry taken next
 * is a fresh one until all are used, then the oldest, which leaves its
 * chain. A hash's bucket holds a chain from its newest entry to its oldest
 * (`first`, then `next`); the owner compares its keys along it.
 */
import { fmix32 } from '../hash';

/** ends a chain, and stands for no entry */
export const NO_ENTRY = -1;

export class HashRing {
  /** entries there is room for; it grows to the capacity */
  private room = 0;
  /** entries used so far, up to `capacity` (the ring is full from then on) */
  private used = 0;
  /** the entry taken next once the ring is full: the oldest */
  private oldest = 0;
  private hashes = new Int32Array(0);
  private nexts = new Int32Array(0);
  /** bucket (spread hash & mask) → its newest entry */
  private heads = new Int32Array(0);
  private mask = 0;

  /**
   * `firstRoom`: entries made at first, doubled as they fill up to
   * `capacity`; `grown` is told each new room, for the owner's columns.
   */
  constructor(
    private readonly capacity: number,
    firstRoom: number,
    private readonly grown: (room: number) => void = () => {},
  ) {
    this.grow(Math.max(1, Math.min(capacity, firstRoom)));
  }

  /** Entries held. */
  get size(): number {
    return this.used;
  }

  /** The newest entry in the chain of `hash`'s bucket, or NO_ENTRY. */
  first(hash: number): number {
    return this.heads[fmix32(hash) & this.mask];
  }

  /** The entry after `e` in its chain, or NO_ENTRY. */
  next(e: number): number {
    return this.nexts[e];
  }

  hashOf(e: number): number {
    return this.hashes[e];
  }

  /** The entry for a new record of `hash`: a fresh one, or the oldest, whose record leaves. */
  add(hash: number): number {
    let e: number;
    if (this.used < this.capacity) {
      if (this.used === this.room) this.grow(Math.min(this.capacity, this.room * 2));
      e = this.used++;
    } else {
      e = this.oldest;
      this.oldest = e + 1 === this.capacity ? 0 : e + 1;
      this.unlinkOldest(e);
    }
    this.hashes[e] = hash;
    this.link(e);
    return e;
  }

  private link(e: number): void {
    const b = fmix32(this.hashes[e]) & this.mask;
    this.nexts[e] = this.heads[b];
    this.heads[b] = e;
  }

  /** Takes entry `e`, the oldest, out of its bucket's chain, whose last entry it is. */
  private unlinkOldest(e: number): void {
    const b = fmix32(this.hashes[e]) & this.mask;
    let x = this.heads[b];
    if (x === e) {
      this.heads[b] = NO_ENTRY;
      return;
    }
    while (this.nexts[x] !== e) x = this.nexts[x];
    this.nexts[x] = NO_ENTRY;
  }

  /** Room for `n` entries, a bucket each; the chains are made again, oldest entry first so the newest ends at the head. */
  private grow(n: number): void {
    const hashes = new Int32Array(n);
    hashes.set(this.hashes);
    this.hashes = hashes;
    this.nexts = new Int32Array(n);
    let buckets = 1;
    while (buckets < n) buckets *= 2;
    this.heads = new Int32Array(buckets).fill(NO_ENTRY);
    this.mask = buckets - 1;
    for (let e = 0; e < this.used; e++) this.link(e);
    this.room = n;
    this.grown(n);
  }
}
