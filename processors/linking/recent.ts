/**
 * Link keys of emitted traces, the `capacity` most recently written, each
 * with what a late span needs of the span that wrote it: trace id, span id
 * (absent when the writer cannot be a parent) and time range.
 *
 * At 10k spans/s a hundred thousand keys are held for seconds, so they are
 * kept in columns rather than an object per key: a ring of entries in typed
 * arrays, the oldest overwritten first, ids packed (IdColumn), sequence
 * numbers in 32 bits (Uint32Column), an end as its length (EndColumn). A
 * key is found through its hash (the linker's): a table of chains from the
 * hash's bucket to its newest entry, older entries of the bucket following
 * through `next`. A key written again shadows its older entry, which leaves
 * in turn.
 */
import { EndColumn } from '../../core/collections/end-column';
import { HashRing, NO_ENTRY } from '../../core/collections/hash-ring';
import { IdColumn } from '../../core/collections/id-column';
import { Uint32Column } from '../../core/collections/uint32-column';

export class RecentLinks {
  private readonly ring: HashRing;
  /** the key: a string (a thread trace id, or a network key's connection) and, for network keys, a sequence number */
  private readonly key: IdColumn;
  /** the keys' sequence numbers, in a ring `sequenced` (network keys); thread keys have none */
  private readonly seq: Uint32Column | undefined;
  private readonly traceIds: IdColumn;
  private readonly spanIds: IdColumn;
  private readonly starts: Float64Array;
  private readonly ends: EndColumn;

  /** `sequenced`: keys come with sequence numbers (network keys), a column of them is kept */
  constructor(
    private readonly capacity: number,
    sequenced: boolean,
  ) {
    // every column at its capacity at once (see HashRing): resident as the ring fills
    const room = Math.max(1, capacity);
    this.ring = new HashRing(capacity);
    this.key = new IdColumn(32, room);
    this.seq = sequenced ? new Uint32Column(room) : undefined;
    this.traceIds = new IdColumn(32, room);
    this.spanIds = new IdColumn(16, room);
    this.starts = new Float64Array(room);
    this.ends = new EndColumn(room);
  }

  /** Entries held (a shadowed older entry of a key counts until it leaves). */
  get size(): number {
    return this.ring.size;
  }

  /** The newest entry of a key, or NO_ENTRY. */
  find(hash: number, key: string, seq: number | bigint | undefined): number {
    const ring = this.ring;
    for (let e = ring.first(hash); e !== NO_ENTRY; e = ring.next(e)) {
      if (ring.hashOf(e) === hash && this.seqEquals(e, seq) && this.key.equals(e, key)) return e;
    }
    return NO_ENTRY;
  }

  traceId(e: number): string {
    return this.traceIds.get(e)!;
  }

  spanId(e: number): string | undefined {
    return this.spanIds.get(e);
  }

  start(e: number): number {
    return this.starts[e];
  }

  end(e: number): number {
    return this.ends.get(e, this.starts[e]);
  }

  /** Remembers a key, the oldest entry leaving once the ring is full. A ring not `sequenced` takes no sequence number. */
  add(hash: number, key: string, seq: number | bigint | undefined, traceId: string, spanId: string | undefined, start: number, end: number): void {
    if (this.capacity <= 0) return;
    if (!this.seq && seq !== undefined) throw new Error('RecentLinks: a sequence number for keys that have none');
    const e = this.ring.add(hash);
    // the trace id before the key: a span remembered under both kinds of key wrote it last into the
    // other kind's entry, and IdColumn reuses the id it packed last
    this.traceIds.set(e, traceId);
    this.key.set(e, key);
    this.seq?.set(e, seq);
    this.spanIds.set(e, spanId);
    // a writer that cannot be a parent gives no time range (0, 0), not written over a 0: a ring of such
    // entries only (a web server's network keys) leaves the pages of these columns untouched
    if (start !== 0 || this.starts[e] !== 0) this.starts[e] = start;
    this.ends.set(e, start, end);
  }

  /** Entry `e` has sequence number `seq` (or none, as `seq`). */
  private seqEquals(e: number, seq: number | bigint | undefined): boolean {
    return this.seq ? this.seq.equals(e, seq) : seq === undefined;
  }
}
