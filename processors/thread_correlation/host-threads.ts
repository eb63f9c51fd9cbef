/**
 * A host's thread timelines by thread key, in their order of last activity
 * (the least recently active is the one dropped at `max_threads`), kept in a
 * RecencyList: moving a Map key last cost 3.5 µs a message with 3,000 threads held.
 *
 * A thread is looked up for its requests and for each of its calls (twice
 * when held), so the keys sit in a table of their own: open addressing with
 * linear probing over a Float64Array of the keys, beside the timelines. A
 * Map boxed each key (pid and tid above 2^31 make it a double) for as long
 * as the thread was held and hashed and compared it as a heap number at
 * every lookup; a thread-per-request server (one thread per request, as
 * Python's ThreadingHTTPServer) adds one for each of its requests.
 */
import { RecencyList, type RecencyLinks } from '../../core/collections/recency-list';
import type { TickReads } from './loop-ticks';
import { ScopeList, type MultiplexedSpan } from './scopes';

/**
 * A thread's timeline: the request scopes it held (the list it is) and what
 * they say of the thread. One object, not a timeline holding a list: a
 * thread-per-request server adds one per request, and each held call's
 * lookup reads both.
 */
export class ThreadTimeline extends ScopeList implements MultiplexedSpan, RecencyLinks<ThreadTimeline> {
  /** data-time span in which the thread was seen with overlapping scopes; from > to when never */
  multiplexedFrom = Infinity;
  multiplexedTo = -Infinity;
  /** longest scope held: bounds how far back a scope overlapping a time can start */
  maxDuration = 0;
  /** event-loop reads that ended messages, by tick tag (loop-ticks.ts); made at the first tagged message */
  tickReads: TickReads | undefined = undefined;
  /** neighbours in the order of last activity */
  older: ThreadTimeline | undefined = undefined;
  newer: ThreadTimeline | undefined = undefined;

  /** `key`: pid and tid as one number */
  constructor(readonly key: number) {
    super();
  }
}

/** slots of a new table (a power of two); the table doubles when half full */
const INITIAL_SLOTS = 64;

/** A slot for a key (an integer below 2^53 in magnitude): its two words mixed (murmur3's finaliser). */
function slotOf(key: number, mask: number): number {
  let h = (key >>> 0) ^ Math.imul((key / 4294967296) | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & mask;
}

export class HostThreads {
  /** slot → key of the timeline in it (meaningless where the slot is empty) */
  private keys = new Float64Array(INITIAL_SLOTS);
  /** slot → timeline, or undefined: empty */
  private timelines = new Array<ThreadTimeline | undefined>(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;
  private readonly recency = new RecencyList<ThreadTimeline>();

  get size(): number {
    return this.count;
  }

  get(key: number): ThreadTimeline | undefined {
    const { keys, timelines, mask } = this;
    for (let i = slotOf(key, mask); ; i = (i + 1) & mask) {
      const t = timelines[i];
      if (t === undefined || keys[i] === key) return t;
    }
  }

  /** Adds a timeline (its key not held) as the most recently active. */
  add(t: ThreadTimeline): void {
    if (2 * (this.count + 1) > this.timelines.length) this.grow();
    this.place(t);
    this.count++;
    this.recency.append(t);
  }

  /** Makes a held timeline the most recently active. */
  touch(t: ThreadTimeline): void {
    this.recency.touch(t);
  }

  delete(t: ThreadTimeline): void {
    const { keys, timelines, mask } = this;
    let i = slotOf(t.key, mask);
    while (timelines[i] !== t) i = (i + 1) & mask;
    // Backward-shift deletion: each timeline after the hole in its run that may fill it (its own slot is not
    // between the hole and it, cyclically) moves into it, leaving a hole at its place; no tombstones.
    for (let j = (i + 1) & mask; timelines[j] !== undefined; j = (j + 1) & mask) {
      const home = slotOf(keys[j], mask);
      if (((j - home) & mask) < ((j - i) & mask)) continue;
      keys[i] = keys[j];
      timelines[i] = timelines[j];
      i = j;
    }
    timelines[i] = undefined;
    this.count--;
    this.recency.unlink(t);
  }

  leastRecentlyActive(): ThreadTimeline | undefined {
    return this.recency.oldest;
  }

  /** Visits every timeline, least recently active first; `visit` may delete the one it is given. */
  forEach(visit: (t: ThreadTimeline) => void): void {
    for (let t = this.recency.oldest; t !== undefined; ) {
      const next = t.newer;
      visit(t);
      t = next;
    }
  }

  private place(t: ThreadTimeline): void {
    let i = slotOf(t.key, this.mask);
    while (this.timelines[i] !== undefined) i = (i + 1) & this.mask;
    this.keys[i] = t.key;
    this.timelines[i] = t;
  }

  private grow(): void {
    const old = this.timelines;
    const slots = 2 * old.length;
    this.keys = new Float64Array(slots);
    this.timelines = new Array<ThreadTimeline | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
    for (let i = 0; i < old.length; i++) if (old[i] !== undefined) this.place(old[i]!);
  }
}
