/**
 * One thread's request scopes, sorted by start. Scopes nearly always arrive
 * in start order and leave from the front (forgotten by age, or the oldest
 * dropped at the bound), so they sit in a ring: adding at the end and
 * dropping at the front move nothing, and a thread at the bound (an nginx
 * worker) allocates nothing per scope (arrays cut and grown again cost ~150
 * bytes a message, held long enough to be copied by scavenges).
 *
 * A scope is a position, its times and flags side by side in one array of
 * numbers and its id in another: a scope is held for 3 × `wait` of data
 * time, long enough to outlive the young generation, and an object per scope
 * (with its two times boxed) costs more to collect than to use. Two arrays,
 * not one per field: a thread-per-request server makes a list (a thread) per
 * request, and each array is two objects held as long.
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

/** A scope's numbers in `numbers`, from its slot × FIELDS: its start, its end, its flags. */
const FIELDS = 3;
const START = 0;
const END = 1;
const FLAGS = 2;

/** The arrays of every empty list (never written: the first scope replaces them). */
const NO_NUMBERS: number[] = [];
const NO_IDS: string[] = [];

/** Positions are taken back to their slots past this, so that they stay small integers (and a midpoint's sum below 2^32). */
const REBASE_AT = 2 ** 30;

export class ScopeList {
  // Plain arrays: V8 keeps numbers unboxed in them. The ring's length (that of `ids`) is a power of two, or 0 when empty.
  /** per slot: request read start (ns), response write start (ns; the request's read end when unanswered), flags */
  private numbers = NO_NUMBERS;
  private ids = NO_IDS;
  /** the ring's length less one: a position's slot is `position & mask` */
  private mask = 0;
  /** position of the first scope held; the ones before it were dropped */
  private head = 0;
  private count = 0;
  /** the latest end of the scopes held, while atLatestEnd > 0 */
  private latestEnd = -Infinity;
  /** scopes held that end at latestEnd (responses written at once end many); 0 once the last of them is dropped: recomputed when asked */
  private atLatestEnd = 0;

  get size(): number {
    return this.count;
  }

  get first(): number {
    return this.head;
  }

  get end(): number {
    return this.head + this.count;
  }

  start(position: number): number {
    return this.numbers[(position & this.mask) * FIELDS + START];
  }

  endOf(position: number): number {
    return this.numbers[(position & this.mask) * FIELDS + END];
  }

  threadTraceId(position: number): string {
    return this.ids[position & this.mask];
  }

  answeredByReader(position: number): boolean {
    return (this.numbers[(position & this.mask) * FIELDS + FLAGS] & ANSWERED_BY_READER) !== 0;
  }

  /** Position of the first scope starting after `t`. */
  upperBound(t: number): number {
    let lo = this.head;
    let hi = this.head + this.count;
    // scopes nearly always arrive in start order; the last one's start read in place: a call left out of line (the
    // caller inlined into its own caller) returns a double boxed, a heap number per server message
    if (lo === hi || this.numbers[((hi - 1) & this.mask) * FIELDS + START] <= t) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.start(mid) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Widens `span` over [start, end] and the scopes held that it overlaps,
   * when it overlaps any, for a scope about to be inserted at `position`
   * (from upperBound); `maxDuration` bounds the scopes' durations.
   *
   * Which scopes overlapped need not be remembered: an overlapped scope lies
   * in the span, which only grows, and no call in it is linked by the thread
   * rule. For a scope added last (nearly all) no scope is visited: it
   * overlaps one iff the latest end held reaches its start; of the scopes it
   * overlaps, the ones starting before the span overlapped none, so their
   * ends are sorted and the earliest is found by bisection. An nginx worker
   * seen once with a slow request visited every scope held per message. A
   * scope added before others is compared with them only when one held
   * reaches out of the span widened over it.
   */
  widenOverOverlaps(span: MultiplexedSpan, position: number, start: number, end: number, maxDuration: number): void {
    const last = this.head + this.count;
    let from = start;
    let to = end;
    let overlapped = false;
    if (position === last) {
      this.knowLatestEnd();
      const latest = this.latestEnd;
      if (latest < start) return;
      overlapped = true;
      if (latest > to) to = latest;
      // A span reaching back over every scope held (a busy event loop's, after its first overlap) has none before it
      // to search: the earliest it overlaps starts within the span. Head's start read in place: see upperBound.
      if (span.multiplexedFrom > this.numbers[(this.head & this.mask) * FIELDS + START]) {
        const earliest = this.firstEndingFrom(start, this.lowerBound(span.multiplexedFrom));
        if (earliest < position && this.start(earliest) < from) from = this.start(earliest);
      }
    } else if (this.start(position) <= end && this.heldWithin(Math.min(span.multiplexedFrom, start), Math.max(span.multiplexedTo, end))) {
      // It overlaps the scope after it, and no scope held reaches out of the span widened over it alone: that
      // span is the result, whichever others it overlaps. Redis answers a loop turn's requests newest first, so
      // each lands before the turn's later reads, with hundreds of scopes within the longest one's duration before it.
      overlapped = true;
    } else {
      // Only scopes starting within the longest scope's duration before this one can reach it; all those after it do.
      for (let j = position - 1; j >= this.head && this.start(j) >= start - maxDuration; j--) {
        const s = this.start(j);
        const e = this.endOf(j);
        if (e < start) continue;
        overlapped = true;
        if (s < from) from = s;
        if (e > to) to = e;
      }
      for (let j = position; j < last && this.start(j) <= end; j++) {
        overlapped = true;
        if (this.endOf(j) > to) to = this.endOf(j);
      }
    }
    if (!overlapped) return;
    if (from < span.multiplexedFrom) span.multiplexedFrom = from;
    if (to > span.multiplexedTo) span.multiplexedTo = to;
  }

  /** Inserts a scope at `position` (from upperBound); the few scopes after it move up one. */
  insert(position: number, start: number, end: number, threadTraceId: string, answeredByReader: boolean): void {
    const flag = answeredByReader ? ANSWERED_BY_READER : 0;
    if (this.atLatestEnd > 0) {
      if (end > this.latestEnd) {
        this.latestEnd = end;
        this.atLatestEnd = 1;
      } else if (end === this.latestEnd) this.atLatestEnd++;
    }
    if (this.count === 0) {
      // A ring of one: a thread-per-request server's thread has one scope.
      this.numbers = [start, end, flag];
      this.ids = [threadTraceId];
      this.mask = 0;
      this.head = position;
      this.count = 1;
      this.latestEnd = end;
      this.atLatestEnd = 1;
      return;
    }
    if (this.count === this.ids.length) this.grow();
    const { numbers, ids, mask } = this;
    for (let j = this.head + this.count; j > position; j--) {
      const to = j & mask;
      const from = (j - 1) & mask;
      numbers[to * FIELDS + START] = numbers[from * FIELDS + START];
      numbers[to * FIELDS + END] = numbers[from * FIELDS + END];
      numbers[to * FIELDS + FLAGS] = numbers[from * FIELDS + FLAGS];
      ids[to] = ids[from];
    }
    const at = position & mask;
    numbers[at * FIELDS + START] = start;
    numbers[at * FIELDS + END] = end;
    numbers[at * FIELDS + FLAGS] = flag;
    ids[at] = threadTraceId;
    this.count++;
  }

  dropFirst(): void {
    if (this.count > 0) this.dropHead();
  }

  /**
   * Drops the leading scopes that ended before `t`; returns how many. Scopes
   * are sorted by start, not end: a long scope keeps shorter later ones a
   * little longer, which is harmless.
   */
  dropEndedBefore(t: number): number {
    let dropped = 0;
    while (this.count > 0 && this.endOf(this.head) < t) {
      this.dropHead();
      dropped++;
    }
    return dropped;
  }

  private dropHead(): void {
    if (this.endOf(this.head) === this.latestEnd && this.atLatestEnd > 0) this.atLatestEnd--;
    this.ids[this.head & this.mask] = '';
    if (++this.head >= REBASE_AT) this.head &= this.mask;
    if (--this.count > 0) return;
    // Empty: the arrays go (a thread-per-request server's thread is done), positions start again.
    this.numbers = NO_NUMBERS;
    this.ids = NO_IDS;
    this.mask = 0;
    this.head = 0;
    this.latestEnd = -Infinity;
    this.atLatestEnd = 0;
  }

  /**
   * Doubles the ring (only when full). Each array twice over: a position's
   * slot in the doubled ring is its old slot or that plus the old length, and
   * both hold its scope.
   */
  private grow(): void {
    this.numbers = this.numbers.concat(this.numbers);
    this.ids = this.ids.concat(this.ids);
    this.mask = this.ids.length - 1;
  }

  /** Whether every scope held (some are) lies within [from, to]. */
  private heldWithin(from: number, to: number): boolean {
    if (this.start(this.head) < from) return false;
    this.knowLatestEnd();
    return this.latestEnd <= to;
  }

  /** Makes `latestEnd` that of the scopes held (some are); it is read in place after, not returned: see upperBound. */
  private knowLatestEnd(): void {
    if (this.atLatestEnd === 0) {
      let latest = -Infinity;
      let at = 0;
      for (let j = this.head; j < this.head + this.count; j++) {
        const end = this.endOf(j);
        if (end > latest) {
          latest = end;
          at = 1;
        } else if (end === latest) at++;
      }
      this.latestEnd = latest;
      this.atLatestEnd = at;
    }
  }

  /** Position of the first scope starting at or after `t`. */
  private lowerBound(t: number): number {
    let lo = this.head;
    let hi = this.head + this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.start(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position of the first scope before `before` ending at or after `t` (else `before`), where the ends are sorted. */
  private firstEndingFrom(t: number, before: number): number {
    let lo = this.head;
    let hi = before;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.endOf(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
