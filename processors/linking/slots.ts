/**
 * The link state of held spans, one slot per span across parallel typed
 * arrays. A span waits for seconds in its windows; an object per span would
 * be copied by every young-generation collection meanwhile, and typed arrays
 * are not scanned at all. Slots are numbered in arrival order and reused
 * once their span has left, so the spans of one window lie together.
 */
import { EndColumn } from '../../core/collections/end-column';
import { Uint32Column } from '../../core/collections/uint32-column';
import type { Span } from '../../core/signals';

/** no slot: ends index lists and member lists, absent parents */
export const NONE = -1;

/** `state` */
export const FREE = 0;
export const HELD = 1;
/** emitted while still listed in a window not yet walked (this one's, or an open one when evicted early): freed when the walk reaches it */
export const EMITTED = 2;

/** `flags`: joined to a span of the other kind by that rule, so no late partner is looked for */
export const NET_LINKED = 1;
export const THREAD_LINKED = 2;
/** `flags`: listed under its trace id (the first held span of that id) */
export const TRACE_LISTED = 4;
/** `flags`: its window closed while its group still grew (a newer window holds a member): freed once emitted */
export const WINDOW_CLOSED = 8;
/** `flags`: netParent / threadParent holds its parent */
export const HAS_NET_PARENT = 16;
export const HAS_THREAD_PARENT = 32;
/** `flags`: joined to another span once: up, size, tail and maxBucket hold its group (a span alone writes none of them but maxBucket when LATE) */
export const GROUPED = 64;
/** `flags`: arrived after its start's window closed, listed in a later one: maxBucket holds that window from the start */
export const LATE = 128;

export class Slots {
  spans: Array<Span | undefined> = [];
  /** ns since the epoch, as doubles: sub-microsecond precision is not needed to compare; the end as its length (endOf) */
  start = new Float64Array(0);
  private readonly ends = new EndColumn(0);
  kind = new Uint8Array(0);
  state = new Uint8Array(0);
  flags = new Uint8Array(0);
  /** the next slot listed in the same window (Linker's buckets) */
  nextInBucket = new Int32Array(0);
  /**
   * union-find parent; a group's root points to itself. Written, with size,
   * tail and maxBucket, once the slot is GROUPED (maxBucket also when LATE):
   * the pages of spans that stay alone (a web server's) are not touched.
   */
  up = new Int32Array(0);
  /** on a root: the group's size, newest window (index: beyond int32, ns / window length), and last member (members are listed from the root through nextMember) */
  size = new Int32Array(0);
  maxBucket = new Float64Array(0);
  tail = new Int32Array(0);
  nextMember = new Int32Array(0);
  /** network key (connection key, request sequence number: see setSeq), its hash, and the next held span of the same hash */
  netConn: Array<string | undefined> = [];
  /** TCP sequence numbers, 32-bit: 4 bytes a slot, any other value aside */
  private readonly netSeq = new Uint32Column(0);
  netHash = new Int32Array(0);
  nextNet = new Int32Array(0);
  /** thread trace id, its hash, and the next held span of the same hash */
  threadKey: Array<string | undefined> = [];
  threadHash = new Int32Array(0);
  nextThread = new Int32Array(0);
  /** trace id hash, and the next span listed under the same hash */
  traceHash = new Int32Array(0);
  nextTrace = new Int32Array(0);
  /**
   * the client span this server span answered (network rule), where flags
   * has HAS_NET_PARENT: written only then, so the pages of spans that never
   * link (a web server's alone) stay untouched
   */
  netParent = new Int32Array(0);
  /** the server span whose thread made this client call (in-process rule), where flags has HAS_THREAD_PARENT */
  threadParent = new Int32Array(0);

  /** slots in the columns */
  private room = 0;
  /** slots used so far: the next fresh one */
  private fresh = 0;
  /**
   * the slot released last, NONE when none: reused before fresh ones, so the
   * slots in use stay low. Released slots are chained through nextMember,
   * which a slot out of every group does not use, instead of a column of
   * their own (4 bytes a slot, resident up to the most spans held).
   */
  private lastReleased = NONE;

  /**
   * `capacity`: the spans held at most (max_spans). The typed columns are
   * made at it at once: a page is resident once a slot reaches it, so they
   * cost the most spans held so far, where columns grown by copying left
   * each smaller copy behind in the allocator. Past it (a batch ingested
   * before the oldest window is evicted) they grow by half.
   */
  constructor(capacity: number) {
    this.resize(Math.max(1, capacity));
  }

  /** A slot with only `state` set (HELD); the caller sets every other field. */
  alloc(): number {
    let s: number;
    if (this.lastReleased !== NONE) {
      s = this.lastReleased;
      this.lastReleased = this.nextMember[s];
    } else {
      if (this.fresh === this.room) this.grow();
      s = this.fresh++;
      // the object columns grow as a JavaScript array does, within V8's heap
      this.spans.push(undefined);
      this.netConn.push(undefined);
      this.threadKey.push(undefined);
    }
    this.state[s] = HELD;
    return s;
  }

  release(s: number): void {
    this.state[s] = FREE;
    // drop references so a slot left free does not keep a span alive
    this.spans[s] = undefined;
    this.netConn[s] = undefined;
    this.netSeq.clear(s);
    this.ends.clear(s);
    this.threadKey[s] = undefined;
    this.nextMember[s] = this.lastReleased;
    this.lastReleased = s;
  }

  /** Sets slot `s`'s time range. */
  setRange(s: number, start: number, end: number): void {
    this.start[s] = start;
    this.ends.set(s, start, end);
  }

  endOf(s: number): number {
    return this.ends.get(s, this.start[s]);
  }

  /** The sequence number of slot `s`'s network key. */
  setSeq(s: number, seq: number | bigint): void {
    this.netSeq.set(s, seq);
  }

  seq(s: number): number | bigint {
    return this.netSeq.get(s)!;
  }

  seqEquals(s: number, seq: number | bigint): boolean {
    return this.netSeq.equals(s, seq);
  }

  /** Past the capacity: every typed column by half. */
  private grow(): void {
    this.resize(this.room + Math.max(1, this.room >> 1));
  }

  /** Every typed column in room for `n` slots, what it holds kept. */
  private resize(n: number): void {
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    this.start = f64(this.start);
    this.ends.resize(n);
    this.kind = u8(this.kind);
    this.state = u8(this.state);
    this.flags = u8(this.flags);
    this.netSeq.resize(n);
    this.nextInBucket = i32(this.nextInBucket);
    this.up = i32(this.up);
    this.size = i32(this.size);
    this.maxBucket = f64(this.maxBucket);
    this.tail = i32(this.tail);
    this.nextMember = i32(this.nextMember);
    this.netHash = i32(this.netHash);
    this.nextNet = i32(this.nextNet);
    this.threadHash = i32(this.threadHash);
    this.nextThread = i32(this.nextThread);
    this.traceHash = i32(this.traceHash);
    this.nextTrace = i32(this.nextTrace);
    this.netParent = i32(this.netParent);
    this.threadParent = i32(this.threadParent);
    this.room = n;
  }
}
