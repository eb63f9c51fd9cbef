/**
 * A host's thread timelines by thread key, in their order of last activity
 * (the least recently active is the one dropped at `max_threads`), kept in a
 * RecencyList: moving a Map key last cost 3.5 µs a message with 3,000 threads held.
 *
 * A thread is looked up for its requests and for each of its calls (twice
 * when held): the timelines found last sit in a small direct-mapped table
 * by the thread key's low bits (the tid's), which answers most lookups
 * without the Map, whose number keys (pid and tid above 2^31) are boxed,
 * hashed and compared as doubles (~100-200 ns a lookup among 3,000 threads).
 */
import { RecencyList } from '../../core/collections/recency-list';
import type { TickReads } from './loop-ticks';
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
  /** event-loop reads that ended messages, by tick tag (loop-ticks.ts); made at the first tagged message */
  tickReads: TickReads | undefined;
  /** neighbours in the order of last activity */
  older: ThreadTimeline | undefined;
  newer: ThreadTimeline | undefined;
}

/** slots of the table of timelines found last (a power of two) */
const RECENT_SLOTS = 256;

export class HostThreads {
  private readonly byKey = new Map<number, ThreadTimeline>();
  private readonly recency = new RecencyList<ThreadTimeline>();
  /** slot (the key's low bits) → a timeline held with such a key, or undefined */
  private readonly recent: (ThreadTimeline | undefined)[] = new Array<ThreadTimeline | undefined>(RECENT_SLOTS).fill(undefined);

  get size(): number {
    return this.byKey.size;
  }

  get(key: number): ThreadTimeline | undefined {
    const slot = key & (RECENT_SLOTS - 1);
    const recent = this.recent[slot];
    if (recent !== undefined && recent.key === key) return recent;
    const t = this.byKey.get(key);
    if (t !== undefined) this.recent[slot] = t;
    return t;
  }

  /** Adds a timeline as the most recently active. */
  add(t: ThreadTimeline): void {
    this.byKey.set(t.key, t);
    this.recency.append(t);
    this.recent[t.key & (RECENT_SLOTS - 1)] = t;
  }

  /** Makes a held timeline the most recently active. */
  touch(t: ThreadTimeline): void {
    this.recency.touch(t);
  }

  delete(t: ThreadTimeline): void {
    this.byKey.delete(t.key);
    this.recency.unlink(t);
    const slot = t.key & (RECENT_SLOTS - 1);
    if (this.recent[slot] === t) this.recent[slot] = undefined;
  }

  leastRecentlyActive(): ThreadTimeline | undefined {
    return this.recency.oldest;
  }

  /** In no particular order; deleting the current one while iterating is fine. */
  values(): IterableIterator<ThreadTimeline> {
    return this.byKey.values();
  }
}
