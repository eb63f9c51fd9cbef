/**
 * Link keys of emitted traces, the `capacity` most recently written, each
 * with what a late span needs of the span that wrote it: trace id, span id
 * (absent when the writer cannot be a parent) and time range.
 *
 * At 10k spans/s a hundred thousand keys are held for seconds, so they are
 * kept in columns rather than an object per key: a ring of entries in typed
 * arrays, the oldest overwritten first, and ids packed (IdColumn). A key is
 * found through its hash (the linker's): a table of chains from the hash's
 * bucket to its newest entry, older entries of the bucket following through
 * `next`. A key written again shadows its older entry, which leaves in turn.
 */
import { fmix32 } from '../../core/hash';
import { IdColumn } from '../../core/collections/id-column';
import { NONE } from './slots';

/** entries allocated at first; the ring doubles up to its capacity */
const MIN_ENTRIES = 1024;

export class RecentLinks {
  private entries = 0;
  /** entries written so far, up to `capacity` (the ring is full from then on) */
  private count = 0;
  /** the entry written next once the ring is full: the oldest */
  private oldest = 0;
  private hash = new Int32Array(0);
  private next = new Int32Array(0);
  /** bucket (spread hash & mask) → its newest entry */
  private heads = new Int32Array(0);
  private mask = 0;
  /** the key: a string (a thread trace id, or a network key's connection) and, for network keys, a sequence number */
  private readonly key = new IdColumn(32, 0);
  /** made on the first sequence number (thread keys have none); NaN where an entry has none or a bigint */
  private seq: Float64Array | undefined;
  /** sequence numbers beyond the doubles' exact range, by entry */
  private readonly bigSeq = new Map<number, bigint>();
  private readonly traceIds = new IdColumn(32, 0);
  private readonly spanIds = new IdColumn(16, 0);
  start = new Float64Array(0);
  end = new Float64Array(0);

  constructor(private readonly capacity: number) {
    this.grow();
  }

  /** Entries held (a shadowed older entry of a key counts until it leaves). */
  get size(): number {
    return this.count;
  }

  /** The newest entry of a key, or NONE. */
  find(hash: number, key: string, seq: number | bigint | undefined): number {
    for (let e = this.heads[fmix32(hash) & this.mask]; e !== NONE; e = this.next[e]) {
      if (this.hash[e] === hash && this.seqEquals(e, seq) && this.key.equals(e, key)) return e;
    }
    return NONE;
  }

  traceId(e: number): string {
    return this.traceIds.get(e)!;
  }

  spanId(e: number): string | undefined {
    return this.spanIds.get(e);
  }

  /** Remembers a key, the oldest entry leaving once the ring is full. */
  add(hash: number, key: string, seq: number | bigint | undefined, traceId: string, spanId: string | undefined, start: number, end: number): void {
    if (this.capacity <= 0) return;
    let e: number;
    if (this.count < this.capacity) {
      if (this.count === this.entries) this.grow();
      e = this.count++;
    } else {
      e = this.oldest;
      this.oldest = e + 1 === this.capacity ? 0 : e + 1;
      this.unlinkOldest(e);
    }
    this.hash[e] = hash;
    this.key.set(e, key);
    if (seq !== undefined) this.seq ??= new Float64Array(this.entries).fill(NaN);
    if (this.seq) this.seq[e] = typeof seq === 'number' ? seq : NaN;
    if (typeof seq === 'bigint') this.bigSeq.set(e, seq);
    else if (this.bigSeq.size > 0) this.bigSeq.delete(e);
    this.traceIds.set(e, traceId);
    this.spanIds.set(e, spanId);
    this.start[e] = start;
    this.end[e] = end;
    const b = fmix32(hash) & this.mask;
    this.next[e] = this.heads[b];
    this.heads[b] = e;
  }

  /** Entry `e` has sequence number `seq` (or none, as `seq`). */
  private seqEquals(e: number, seq: number | bigint | undefined): boolean {
    if (typeof seq === 'number') return this.seq !== undefined && this.seq[e] === seq;
    if (seq === undefined) return (this.seq === undefined || Number.isNaN(this.seq[e])) && !this.bigSeq.has(e);
    return this.bigSeq.get(e) === seq;
  }

  /** Takes entry `e`, the oldest, out of its bucket's chain, whose last entry it is. */
  private unlinkOldest(e: number): void {
    const b = fmix32(this.hash[e]) & this.mask;
    let x = this.heads[b];
    if (x === e) {
      this.heads[b] = NONE;
      return;
    }
    while (this.next[x] !== e) x = this.next[x];
    this.next[x] = NONE;
  }

  /** Doubles the entries (up to the capacity) before the ring is full, and the buckets with them. */
  private grow(): void {
    const n = Math.max(1, Math.min(this.capacity, Math.max(MIN_ENTRIES, this.entries * 2)));
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.hash = i32(this.hash);
    this.next = i32(this.next);
    if (this.seq) this.seq = f64(this.seq);
    this.start = f64(this.start);
    this.end = f64(this.end);
    this.key.resize(n);
    this.traceIds.resize(n);
    this.spanIds.resize(n);
    this.entries = n;
    // a bucket per entry; the chains are made again, oldest entry first so the newest ends at the head
    let buckets = 1;
    while (buckets < n) buckets *= 2;
    this.heads = new Int32Array(buckets).fill(NONE);
    this.mask = buckets - 1;
    for (let e = 0; e < this.count; e++) {
      const b = fmix32(this.hash[e]) & this.mask;
      this.next[e] = this.heads[b];
      this.heads[b] = e;
    }
  }
}
