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

/** The span of time in which a thread was seen serving several requests at once (from > to: never). */
export interface MultiplexedSpan {
  multiplexedFrom: number;
  multiplexedTo: number;
}

/** answered by the thread (or goroutine) that read the request */
const ANSWERED_BY_READER = 1;

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
  /** the latest end of the scopes held, unless a scope that may have had it was dropped since (then recomputed when asked) */
  private latestEnd = -Infinity;
  private latestEndStale = false;

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

  answeredByReader(position: number): boolean {
    return (this.flags[position] & ANSWERED_BY_READER) !== 0;
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

  /**
   * Widens `span` over [start, end] and the scopes held that it overlaps,
   * when it overlaps any, for a scope about to be
   * inserted at `position` (from upperBound); `maxDuration` bounds the
   * scopes' durations.
   *
   * Which scopes overlapped need not be remembered: an overlapped scope lies
   * in the span, which only grows, and no call in it is linked by the thread
   * rule. For a scope added last (nearly all) no scope is visited: it
   * overlaps one iff the latest end held reaches its start; of the scopes it
   * overlaps, the ones starting before the span overlapped none, so their
   * ends are sorted and the earliest is found by bisection. An nginx worker
   * seen once with a slow request visited every scope held per message.
   */
  widenOverOverlaps(span: MultiplexedSpan, position: number, start: number, end: number, maxDuration: number): void {
    let from = start;
    let to = end;
    let overlapped = false;
    if (position === this.starts.length) {
      const latest = this.latestEndHeld();
      if (latest < start) return;
      overlapped = true;
      if (latest > to) to = latest;
      const earliest = this.firstEndingFrom(start, this.lowerBound(span.multiplexedFrom));
      if (earliest < position && this.starts[earliest] < from) from = this.starts[earliest];
    } else {
      // Only scopes starting within the longest scope's duration before this one can reach it; all those after it do.
      for (let j = position - 1; j >= this.head && this.starts[j] >= start - maxDuration; j--) {
        if (this.ends[j] < start) continue;
        overlapped = true;
        if (this.starts[j] < from) from = this.starts[j];
        if (this.ends[j] > to) to = this.ends[j];
      }
      for (let j = position; j < this.starts.length && this.starts[j] <= end; j++) {
        overlapped = true;
        if (this.ends[j] > to) to = this.ends[j];
      }
    }
    if (!overlapped) return;
    if (from < span.multiplexedFrom) span.multiplexedFrom = from;
    if (to > span.multiplexedTo) span.multiplexedTo = to;
  }

  /** Inserts a scope at `position` (from upperBound); the few scopes after it move up one. */
  insert(position: number, start: number, end: number, threadTraceId: string, answeredByReader: boolean): void {
    const flag = answeredByReader ? ANSWERED_BY_READER : 0;
    if (!this.latestEndStale && end > this.latestEnd) this.latestEnd = end;
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
    if (this.head < this.starts.length) this.dropHead();
    this.compact();
  }

  /**
   * Drops the leading scopes that ended before `t`; returns how many. Scopes
   * are sorted by start, not end: a long scope keeps shorter later ones a
   * little longer, which is harmless.
   */
  dropEndedBefore(t: number): number {
    const from = this.head;
    while (this.head < this.starts.length && this.ends[this.head] < t) this.dropHead();
    const dropped = this.head - from;
    if (dropped) this.compact();
    return dropped;
  }

  private dropHead(): void {
    if (this.ends[this.head] >= this.latestEnd) this.latestEndStale = true;
    this.ids[this.head++] = '';
  }

  private latestEndHeld(): number {
    if (this.latestEndStale) {
      let latest = -Infinity;
      for (let j = this.head; j < this.ends.length; j++) if (this.ends[j] > latest) latest = this.ends[j];
      this.latestEnd = latest;
      this.latestEndStale = false;
    }
    return this.latestEnd;
  }

  /** Position of the first scope starting at or after `t`. */
  private lowerBound(t: number): number {
    const starts = this.starts;
    let lo = this.head;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position of the first scope before `before` ending at or after `t` (else `before`), where the ends are sorted. */
  private firstEndingFrom(t: number, before: number): number {
    const ends = this.ends;
    let lo = this.head;
    let hi = before;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Cuts the dropped prefix off once it is most of the arrays: each scope is copied about once. */
  private compact(): void {
    const head = this.head;
    const length = this.starts.length;
    if (head === length) {
      this.starts = this.ends = this.flags = NO_NUMBERS;
      this.ids = NO_IDS;
      this.head = 0;
      this.latestEnd = -Infinity;
      this.latestEndStale = false;
    } else if (head > 32 && head * 2 > length) {
      this.starts = this.starts.slice(head);
      this.ends = this.ends.slice(head);
      this.flags = this.flags.slice(head);
      this.ids = this.ids.slice(head);
      this.head = 0;
    }
  }
}
