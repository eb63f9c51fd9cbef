/**
 * One thread's request scopes, sorted by start. Scopes nearly always arrive
 * in start order and leave from the front (forgotten by age, or the oldest
 * dropped at the bound), so they sit in arrays with a head index: adding at
 * the end and dropping at the front move nothing (splice and shift on arrays
 * of a thousand scopes were most of the stage's cost).
 *
 * A scope is a position, its fields in columns: a scope is held for 3 ×
 * `wait` of data time, long enough to outlive the young generation, and an
 * object per scope (with its two times boxed) costs more to collect than to
 * use.
 *
 * Positions run from `first` to `end` (exclusive) and stay valid until a
 * scope is added or dropped.
 */

/** false when it overlapped another scope or its response was written by another thread */
const LINKABLE = 1;
/** answered by the thread (or goroutine) that read the request, whatever overlapped it */
const ANSWERED_BY_READER = 2;

/** The columns of every empty list (never written: the first scope replaces them). */
const NO_NUMBERS: number[] = [];
const NO_IDS: string[] = [];

export class ScopeList {
  // Plain arrays: V8 keeps numbers unboxed in them.
  private starts = NO_NUMBERS;
  /** response write start (ns), or the request's read end when unanswered */
  private ends = NO_NUMBERS;
  private flags = NO_NUMBERS;
  private ids = NO_IDS;
  /** position of the first scope held; the ones before it were dropped */
  private head = 0;

  get size(): number {
    return this.starts.length - this.head;
  }

  get first(): number {
    return this.head;
  }

  get end(): number {
    return this.starts.length;
  }

  start(position: number): number {
    return this.starts[position];
  }

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
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Inserts a scope at `position` (from upperBound), linkable when answered by its reader; the few scopes after it move up one. */
  insert(position: number, start: number, end: number, threadTraceId: string, answeredByReader: boolean): void {
    const flag = answeredByReader ? LINKABLE | ANSWERED_BY_READER : 0;
    if (this.starts.length === 0) {
      // Columns of one: a push would make room for 17, and a thread-per-request server's thread has one scope.
      this.starts = [start];
      this.ends = [end];
      this.flags = [flag];
      this.ids = [threadTraceId];
      return;
    }
    const { starts, ends, flags, ids } = this;
    for (let j = starts.length; j > position; j--) {
      starts[j] = starts[j - 1];
      ends[j] = ends[j - 1];
      flags[j] = flags[j - 1];
      ids[j] = ids[j - 1];
    }
    starts[position] = start;
    ends[position] = end;
    flags[position] = flag;
    ids[position] = threadTraceId;
  }

  dropFirst(): void {
    if (this.head < this.starts.length) this.ids[this.head++] = '';
    this.compact();
  }

  /**
   * Drops the leading scopes that ended before `t`; returns how many. Scopes
   * are sorted by start, not end: a long scope keeps shorter later ones a
   * little longer, which is harmless.
   */
  dropEndedBefore(t: number): number {
    const from = this.head;
    while (this.head < this.starts.length && this.ends[this.head] < t) this.ids[this.head++] = '';
    const dropped = this.head - from;
    if (dropped) this.compact();
    return dropped;
  }

  /** Cuts the dropped prefix off once it is most of the arrays: each scope is copied about once. */
  private compact(): void {
    const head = this.head;
    const length = this.starts.length;
    if (head === length) {
      this.starts = this.ends = this.flags = NO_NUMBERS;
      this.ids = NO_IDS;
      this.head = 0;
    } else if (head > 32 && head * 2 > length) {
      this.starts = this.starts.slice(head);
      this.ends = this.ends.slice(head);
      this.flags = this.flags.slice(head);
      this.ids = this.ids.slice(head);
      this.head = 0;
    }
  }
}
