/**
 * One thread's request scopes, sorted by start. Scopes nearly always arrive
 * in start order and leave from the front (forgotten by age, or the oldest
 * dropped at the bound), so they sit in an array with a head index: adding
 * at the end and dropping at the front move nothing (splice and shift on
 * arrays of a thousand scopes were most of the stage's cost).
 *
 * Positions run from `first` to `end` (exclusive) and stay valid until a
 * scope is dropped.
 */
export interface Scope {
  start: number;
  end: number;
  threadTraceId: string;
  /** false when it overlapped another scope or its response was written by another thread */
  linkable: boolean;
  /** answered by the thread (or goroutine) that read the request, whatever overlapped it */
  answeredByReader: boolean;
}

export class ScopeList {
  private scopes: Scope[] = [];
  /** position of the first scope held; the ones before it were dropped */
  private head = 0;

  get size(): number {
    return this.scopes.length - this.head;
  }

  get first(): number {
    return this.head;
  }

  get end(): number {
    return this.scopes.length;
  }

  at(position: number): Scope {
    return this.scopes[position];
  }

  /** Position of the first scope starting after `t`. */
  upperBound(t: number): number {
    const scopes = this.scopes;
    let lo = this.head;
    let hi = scopes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (scopes[mid].start <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Inserts at `position` (from upperBound); the few scopes after it move up one. */
  insert(position: number, scope: Scope): void {
    const scopes = this.scopes;
    scopes.push(scope);
    for (let j = scopes.length - 1; j > position; j--) scopes[j] = scopes[j - 1];
    scopes[position] = scope;
  }

  dropFirst(): void {
    if (this.head < this.scopes.length) this.head++;
    this.compact();
  }

  /**
   * Drops the leading scopes that ended before `t`; returns how many. Scopes
   * are sorted by start, not end: a long scope keeps shorter later ones a
   * little longer, which is harmless.
   */
  dropEndedBefore(t: number): number {
    const from = this.head;
    while (this.head < this.scopes.length && this.scopes[this.head].end < t) this.head++;
    const dropped = this.head - from;
    if (dropped) this.compact();
    return dropped;
  }

  /** Cuts the dropped prefix off once it is most of the array: each scope is copied about once. */
  private compact(): void {
    if (this.head === this.scopes.length) {
      this.scopes.length = 0;
      this.head = 0;
    } else if (this.head > 32 && this.head * 2 > this.scopes.length) {
      this.scopes = this.scopes.slice(this.head);
      this.head = 0;
    }
  }
}
