/**
 * One thread's request scopes, sorted by start. Scopes nearly always arrive
 * in start order and leave from the front (forgotten by age, or the oldest
 * dropped at the bound), so they sit in arrays with a head index: adding at
 * the end and dropping at the front move nothing (splice and shift on arrays
 * of a thousand scopes were most of the stage's cost).
 *
 * A scope is a position, its fields in columns (typed arrays for the times and
 * flags, an array for the ids): a scope is held for 3 × `wait` of data time,
 * long enough to outlive the young generation, and an object per scope (with
 * its two times boxed) cost more in garbage collection than the rest of the
 * stage.
 *
 * Positions run from `first` to `end` (exclusive) and stay valid until a
 * scope is added or dropped.
 */

/** false when it overlapped another scope or its response was written by another thread */
const LINKABLE = 1;
/** answered by the thread (or goroutine) that read the request, whatever overlapped it */
const ANSWERED_BY_READER = 2;

const INITIAL_CAPACITY = 4;

export class ScopeList {
  private starts = new Float64Array(INITIAL_CAPACITY);
  private ends = new Float64Array(INITIAL_CAPACITY);
  private flags = new Uint8Array(INITIAL_CAPACITY);
  private ids: string[] = [];
  /** position of the first scope held; the ones before it were dropped */
  private head = 0;
  private tail = 0;

  get size(): number {
    return this.tail - this.head;
  }

  get first(): number {
    return this.head;
  }

  get end(): number {
    return this.tail;
  }

  start(position: number): number {
    return this.starts[position];
  }

  /** response write start (ns), or the request's read end when unanswered */
  endOf(position: number): number {
    return this.ends[position];
  }

  threadTraceId(position: number): string {
    return this.ids[position];
  }

  /** a request answered by the thread that read it, which overlapped no other scope */
  linkable(position: number): boolean {
    return (this.flags[position] & LINKABLE) !== 0;
  }

  answeredByReader(position: number): boolean {
    return (this.flags[position] & ANSWERED_BY_READER) !== 0;
  }

  /** It overlapped another scope. */
  markUnlinkable(position: number): void {
    this.flags[position] &= ~LINKABLE;
  }

  /** Position of the first scope starting after `t`. */
  upperBound(t: number): number {
    const starts = this.starts;
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Inserts a scope at `position` (from upperBound), linkable when answered by
   * its reader; the few scopes after it move up one. Returns its position
   * (other than `position` when room had to be made).
   */
  insert(position: number, start: number, end: number, threadTraceId: string, answeredByReader: boolean): number {
    if (this.tail === this.starts.length) position -= this.makeRoom();
    const { starts, ends, flags, ids } = this;
    for (let j = this.tail; j > position; j--) {
      starts[j] = starts[j - 1];
      ends[j] = ends[j - 1];
      flags[j] = flags[j - 1];
      ids[j] = ids[j - 1];
    }
    starts[position] = start;
    ends[position] = end;
    flags[position] = answeredByReader ? LINKABLE | ANSWERED_BY_READER : 0;
    ids[position] = threadTraceId;
    this.tail++;
    return position;
  }

  dropFirst(): void {
    if (this.head < this.tail) this.ids[this.head++] = '';
    this.compact();
  }

  /**
   * Drops the leading scopes that ended before `t`; returns how many. Scopes
   * are sorted by start, not end: a long scope keeps shorter later ones a
   * little longer, which is harmless.
   */
  dropEndedBefore(t: number): number {
    const from = this.head;
    while (this.head < this.tail && this.ends[this.head] < t) this.ids[this.head++] = '';
    const dropped = this.head - from;
    if (dropped) this.compact();
    return dropped;
  }

  /** Starts over when empty, so that a thread's columns stay as small as its busiest moment. */
  private compact(): void {
    if (this.head === this.tail) {
      this.head = this.tail = 0;
      this.ids.length = 0;
    }
  }

  /**
   * Makes room at the end for one more: moves the scopes held to the front when
   * the dropped prefix is at least half the columns (each scope is moved about
   * once), else doubles them. Returns how far positions moved down.
   */
  private makeRoom(): number {
    const shift = this.head;
    const size = this.size;
    if (shift * 2 >= this.starts.length) {
      this.starts.copyWithin(0, shift, this.tail);
      this.ends.copyWithin(0, shift, this.tail);
      this.flags.copyWithin(0, shift, this.tail);
      this.ids.copyWithin(0, shift, this.tail);
    } else {
      const capacity = this.starts.length * 2;
      this.starts = grown(this.starts, new Float64Array(capacity), shift, this.tail);
      this.ends = grown(this.ends, new Float64Array(capacity), shift, this.tail);
      this.flags = grown(this.flags, new Uint8Array(capacity), shift, this.tail);
      if (shift) this.ids.copyWithin(0, shift, this.tail);
    }
    this.ids.length = size;
    this.head = 0;
    this.tail = size;
    return shift;
  }
}

function grown<A extends Float64Array | Uint8Array>(from: A, to: A, begin: number, end: number): A {
  to.set(from.subarray(begin, end));
  return to;
}
