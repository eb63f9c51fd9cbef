/**
 * A host's thread timelines by thread key, in their order of last activity
 * (the least recently active is the one dropped at `max_threads`). The order
 * is a linked list through the timelines: a Map keeps insertion order too,
 * but moving a key last by deleting and adding it again costs V8 time in
 * proportion to the Map's size (3.5 µs a message with 3,000 threads held).
 */
import type { ScopeList } from './scopes';

export interface ThreadTimeline {
  /** pid and tid as one number */
  readonly key: number;
  scopes: ScopeList;
  /** data-time span in which the thread was seen with overlapping scopes; from > to when never */
  multiplexedFrom: number;
  multiplexedTo: number;
  /** longest scope held: bounds how far back a scope overlapping a time can start */
  maxDuration: number;
  /** neighbours in the order of last activity */
  older: ThreadTimeline | undefined;
  newer: ThreadTimeline | undefined;
}

export class HostThreads {
  private readonly byKey = new Map<number, ThreadTimeline>();
  private oldest: ThreadTimeline | undefined;
  private newest: ThreadTimeline | undefined;

  get size(): number {
    return this.byKey.size;
  }

  get(key: number): ThreadTimeline | undefined {
    return this.byKey.get(key);
  }

  /** Adds a timeline as the most recently active. */
  add(t: ThreadTimeline): void {
    this.byKey.set(t.key, t);
    this.append(t);
  }

  /** Makes a held timeline the most recently active. */
  touch(t: ThreadTimeline): void {
    if (t === this.newest) return;
    this.unlink(t);
    this.append(t);
  }

  delete(t: ThreadTimeline): void {
    this.byKey.delete(t.key);
    this.unlink(t);
  }

  leastRecentlyActive(): ThreadTimeline | undefined {
    return this.oldest;
  }

  /** In no particular order; deleting the current one while iterating is fine. */
  values(): IterableIterator<ThreadTimeline> {
    return this.byKey.values();
  }

  private append(t: ThreadTimeline): void {
    t.older = this.newest;
    t.newer = undefined;
    if (this.newest) this.newest.newer = t;
    else this.oldest = t;
    this.newest = t;
  }

  private unlink(t: ThreadTimeline): void {
    if (t.older) t.older.newer = t.newer;
    else this.oldest = t.newer;
    if (t.newer) t.newer.older = t.older;
    else this.newest = t.older;
    t.older = undefined;
    t.newer = undefined;
  }
}
