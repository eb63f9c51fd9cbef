/**
 * A host's thread timelines by thread key, in their order of last activity
 * (the least recently active is the one dropped at `max_threads`), kept in a
 * RecencyList: moving a Map key last cost 3.5 µs a message with 3,000 threads held.
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

export class HostThreads {
  private readonly byKey = new Map<number, ThreadTimeline>();
  private readonly recency = new RecencyList<ThreadTimeline>();

  get size(): number {
    return this.byKey.size;
  }

  get(key: number): ThreadTimeline | undefined {
    return this.byKey.get(key);
  }

  /** Adds a timeline as the most recently active. */
  add(t: ThreadTimeline): void {
    this.byKey.set(t.key, t);
    this.recency.append(t);
  }

  /** Makes a held timeline the most recently active. */
  touch(t: ThreadTimeline): void {
    this.recency.touch(t);
  }

  delete(t: ThreadTimeline): void {
    this.byKey.delete(t.key);
    this.recency.unlink(t);
  }

  leastRecentlyActive(): ThreadTimeline | undefined {
    return this.recency.oldest;
  }

  /** In no particular order; deleting the current one while iterating is fine. */
  values(): IterableIterator<ThreadTimeline> {
    return this.byKey.values();
  }
}
