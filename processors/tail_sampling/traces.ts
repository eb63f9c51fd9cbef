/**
 * The traces the sampler holds: the `capacity` (num_traces) most recently
 * admitted, as the Collector's circular buffer, the oldest pushed out by a
 * new one. Most are decided and kept only so late spans follow their
 * decision, tens of thousands of them, so they live in columns: a ring of
 * slots (trace id packed by IdColumn, decision), found through chains from
 * the id's hash bucket. A trace still gathering spans has a Held too.
 */
import { IdColumn } from '../../core/collections/id-column';
import { fmix32, fnv1a32 } from '../../core/hash';
import type { Span } from '../../core/signals';
import { Decision } from './policies/policy';

/** find's answer for a trace not held (it also ends the chains) */
export const NOT_HELD = -1;
const NONE = NOT_HELD;

/** The hash a trace id is found by. */
export const hashOf = (id: string): number => fnv1a32(id);

/** A trace gathering spans until its decision_wait is over. */
export interface Held {
  traceId: string;
  /** a list of its own, added to as spans come */
  spans: Span[];
  /** scheduler ms of the first span */
  arrival: number;
  slot: number;
  /** decided, or pushed out before it was: nothing more to do for it */
  done: boolean;
}

export class TraceTable {
  /** slots written so far, up to `capacity` */
  private count = 0;
  /** the slot a new trace takes once all are used: the oldest */
  private oldest = 0;
  private readonly ids: IdColumn;
  private readonly hash: Int32Array;
  private readonly next: Int32Array;
  private readonly decisions: Uint8Array;
  /** bucket (spread hash & mask) → its newest slot */
  private readonly heads: Int32Array;
  private readonly mask: number;
  /** the undecided traces, by slot */
  private readonly undecided = new Map<number, Held>();

  constructor(private readonly capacity: number) {
    this.ids = new IdColumn(32, capacity);
    this.hash = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.decisions = new Uint8Array(capacity);
    let buckets = 1;
    while (buckets < capacity) buckets *= 2;
    this.heads = new Int32Array(buckets).fill(NONE);
    this.mask = buckets - 1;
  }

  /** Traces held, decided or not. */
  get size(): number {
    return this.count;
  }

  /** The slot of trace `id` (its hash `h`: hashOf), or NONE. */
  find(id: string, h: number): number {
    for (let e = this.heads[fmix32(h) & this.mask]; e !== NONE; e = this.next[e]) if (this.hash[e] === h && this.ids.equals(e, id)) return e;
    return NONE;
  }

  decision(slot: number): Decision {
    return this.decisions[slot];
  }

  /** The spans gathered so far by the undecided trace in `slot`. */
  held(slot: number): Held {
    return this.undecided.get(slot)!;
  }

  /** Admits trace `id` (not held) with a decision already made; returns the undecided trace it pushed out, if any. */
  admitDecided(id: string, h: number, d: Decision): Held | undefined {
    const { slot, pushedOut } = this.take(id, h);
    this.decisions[slot] = d;
    return pushedOut;
  }

  /** Admits trace `id` (not held) to gather spans; returns it, and the undecided trace it pushed out, if any. */
  admitUndecided(id: string, h: number, spans: Span[], arrival: number): { held: Held; pushedOut: Held | undefined } {
    const { slot, pushedOut } = this.take(id, h);
    this.decisions[slot] = Decision.Unspecified;
    const held: Held = { traceId: id, spans, arrival, slot, done: false };
    this.undecided.set(slot, held);
    return { held, pushedOut };
  }

  /** The undecided trace `held` got its decision: it keeps that alone. */
  decide(held: Held, d: Decision): void {
    this.decisions[held.slot] = d;
    this.undecided.delete(held.slot);
    held.done = true;
  }

  /** The next slot, for `id`: a free one, or the oldest, whose trace leaves. */
  private take(id: string, h: number): { slot: number; pushedOut: Held | undefined } {
    let slot: number;
    let pushedOut: Held | undefined;
    if (this.count < this.capacity) {
      slot = this.count++;
    } else {
      slot = this.oldest;
      this.oldest = slot + 1 === this.capacity ? 0 : slot + 1;
      this.unlinkOldest(slot);
      pushedOut = this.undecided.get(slot);
      if (pushedOut) {
        this.undecided.delete(slot);
        pushedOut.done = true;
      }
    }
    this.hash[slot] = h;
    this.ids.set(slot, id);
    const b = fmix32(h) & this.mask;
    this.next[slot] = this.heads[b];
    this.heads[b] = slot;
    return { slot, pushedOut };
  }

  /** Takes `slot`, the oldest, out of its bucket's chain, whose last slot it is. */
  private unlinkOldest(slot: number): void {
    const b = fmix32(this.hash[slot]) & this.mask;
    let x = this.heads[b];
    if (x === slot) {
      this.heads[b] = NONE;
      return;
    }
    while (this.next[x] !== slot) x = this.next[x];
    this.next[x] = NONE;
  }
}
