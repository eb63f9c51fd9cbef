/**
 * Entry numbers for a bounded set of records found by a 32-bit hash, for
 * owners that keep the records themselves in columns (typed arrays by entry
 * number, made at the capacity too). The `capacity` most recently added are
 * held: the entry taken next is a fresh one until all are used, then the
 * oldest, which leaves its chain. A hash's bucket holds a chain from its
 * newest entry to its oldest (`first`, then `next`); the owner compares its
 * keys along it.
 *
 * An entry taken again is not unlinked from the chain it was in (that was a
 * walk from its old bucket's head, a cache miss or two per add in a table
 * of megabytes): the chain ends where it reaches an entry rewritten since,
 * which is then newer than the entry before it, and a bucket whose newest
 * entry was rewritten into another bucket has no chain left (the ring
 * rewrites in age order, so every older entry of the chain went before).
 *
 * Everything is made at once, at the capacity, and nothing is filled: a
 * page of a large typed array is resident only once an entry reaches it, so
 * a ring used below its capacity costs what it uses, and one that fills up
 * leaves no smaller copies behind in the allocator, as a ring doubled to
 * its capacity did (megabytes of RSS for linking's two rings at 10k spans/s).
 */
import { fmix32 } from '../hash';

/** ends a chain, and stands for no entry */
export const NO_ENTRY = -1;

export class HashRing {
  /** entries used so far, up to `capacity` (the ring is full from then on) */
  private used = 0;
  /** the entry taken next once the ring is full: the oldest */
  private oldest = 0;
  private readonly hashes: Int32Array;
  /**
   * bucket (spread hash & mask) → its newest entry, and entry → the next
   * older one of its bucket, both stored plus one: 0, a typed array's
   * initial value, stands for NO_ENTRY, so no fill touches every page
   */
  private readonly heads: Int32Array;
  private readonly nexts: Int32Array;
  private readonly mask: number;

  constructor(private readonly capacity: number) {
    const room = Math.max(1, capacity);
    this.hashes = new Int32Array(room);
    this.nexts = new Int32Array(room);
    let buckets = 1;
    while (buckets < room) buckets *= 2;
    this.heads = new Int32Array(buckets);
    this.mask = buckets - 1;
  }

  /** Entries held. */
  get size(): number {
    return this.used;
  }

  /** The newest entry in the chain of `hash`'s bucket, or NO_ENTRY. */
  first(hash: number): number {
    const b = fmix32(hash) & this.mask;
    const e = this.heads[b] - 1;
    // rewritten into another bucket: this one's records all left
    return e === NO_ENTRY || this.used < this.capacity || (fmix32(this.hashes[e]) & this.mask) === b ? e : NO_ENTRY;
  }

  /** The entry after `e` in its chain, or NO_ENTRY. */
  next(e: number): number {
    const n = this.nexts[e] - 1;
    // rewritten since `e` was written: the chain's older records all left
    return n === NO_ENTRY || this.used < this.capacity || this.age(n) > this.age(e) ? n : NO_ENTRY;
  }

  /** Writes since entry `e` was written, once the ring is full (0: the newest). */
  private age(e: number): number {
    const a = this.oldest - 1 - e;
    return a < 0 ? a + this.capacity : a;
  }

  hashOf(e: number): number {
    return this.hashes[e];
  }

  /** The entry for a new record of `hash`: a fresh one, or the oldest, whose record leaves. */
  add(hash: number): number {
    let e: number;
    if (this.used < this.capacity) {
      e = this.used++;
    } else {
      e = this.oldest;
      this.oldest = e + 1 === this.capacity ? 0 : e + 1;
    }
    this.hashes[e] = hash;
    const b = fmix32(hash) & this.mask;
    this.nexts[e] = this.heads[b];
    this.heads[b] = e + 1;
    return e;
  }
}
