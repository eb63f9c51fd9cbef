/**
 * The traces the sampler holds: the `capacity` (num_traces) most recently
 * admitted, as the Collector's circular buffer, the oldest pushed out by a
 * new one. Most are decided and kept only so late spans follow their
 * decision, tens of thousands of them, so they live in columns: a ring of
 * slots (trace id packed by IdColumn, decision), found through chains from
 * the id's hash bucket. A trace still gathering spans has a Held too.
 */
import { HashRing, NO_ENTRY } from '../../core/collections/hash-ring';
import { IdColumn } from '../../core/collections/id-column';
import { fnv1a32 } from '../../core/hash';
import type { Span, Trace } from '../../core/signals';
import { Decision } from './policies/policy';

/** find's answer for a trace not held (it also ends the chains) */
export const NOT_HELD = NO_ENTRY;

/** The hash a trace id is found by. */
export const hashOf = (id: string): number => fnv1a32(id);

/** A trace gathering spans until its decision_wait is over. */
export interface Held {
  /**
   * the trace as it came, passed on as it is when decided; once a later
   * part comes (addSpans), a trace of its own whose list gathers them
   */
  trace: Trace;
  /** `trace` is the sampler's own, its list added to as spans come */
  ownsTrace: boolean;
  /** scheduler ms of the first span */
  arrival: number;
  slot: number;
  /** decided, or pushed out before it was: nothing more to do for it */
  done: boolean;
}

/**
 * Adds the spans of a later part of the trace: the trace it came as, and
 * its list, are the producer's and stay as they are (copied once, at the
 * first later part). Most traces come in one part and are not copied.
 */
export function addSpans(held: Held, spans: readonly Span[]): void {
  if (!held.ownsTrace) {
    held.trace = { traceId: held.trace.traceId, spans: held.trace.spans.slice() };
    held.ownsTrace = true;
  }
  for (const s of spans) held.trace.spans.push(s);
}

export class TraceTable {
  /** the slots, all made at once (resident as they are first used) */
  private readonly ring: HashRing;
  private readonly ids: IdColumn;
  private readonly decisions: Uint8Array;
  /** the undecided traces, by slot */
  private readonly undecided = new Map<number, Held>();

  constructor(capacity: number) {
    this.ring = new HashRing(capacity);
    this.ids = new IdColumn(32, capacity);
    this.decisions = new Uint8Array(capacity);
  }

  /** Traces held, decided or not. */
  get size(): number {
    return this.ring.size;
  }

  /** The slot of trace `id` (its hash `h`: hashOf), or NOT_HELD. */
  find(id: string, h: number): number {
    const ring = this.ring;
    for (let e = ring.first(h); e !== NO_ENTRY; e = ring.next(e)) if (ring.hashOf(e) === h && this.ids.equals(e, id)) return e;
    return NOT_HELD;
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

  /** Admits `trace` (its id `id`, not held) to gather spans; returns it held, and the undecided trace it pushed out, if any. */
  admitUndecided(id: string, h: number, trace: Trace, arrival: number): { held: Held; pushedOut: Held | undefined } {
    const { slot, pushedOut } = this.take(id, h);
    this.decisions[slot] = Decision.Unspecified;
    const held: Held = { trace, ownsTrace: false, arrival, slot, done: false };
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
    const slot = this.ring.add(h);
    this.ids.set(slot, id);
    // only an undecided trace (or a slot never used) has no decision: the others need no look-up
    const pushedOut = this.decisions[slot] === Decision.Unspecified ? this.undecided.get(slot) : undefined;
    if (pushedOut) {
      this.undecided.delete(slot);
      pushedOut.done = true;
    }
    return { slot, pushedOut };
  }
}
