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
  /** when its first span came: scheduler ms since the sampler started (TailSampler.since): a small integer, held in the object itself, for 24 days */
  arrival: number;
  /** its slot in the table, set when admitted */
  slot: number;
  /** decided, or pushed out before it was: nothing more to do for it */
  done: boolean;
}

/** `trace` as it came, to be admitted undecided. */
export function held(trace: Trace, arrival: number): Held {
  return { trace, ownsTrace: false, arrival, slot: -1, done: false };
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
    const slot = this.take(id, h);
    const pushedOut = this.pushOut(slot);
    this.decisions[slot] = d;
    return pushedOut;
  }

  /** Admits `held` (its trace's id `id`, not held) to gather spans; returns the undecided trace it pushed out, if any. */
  admitUndecided(id: string, h: number, held: Held): Held | undefined {
    const slot = this.take(id, h);
    const pushedOut = this.pushOut(slot);
    this.decisions[slot] = Decision.Unspecified;
    held.slot = slot;
    this.undecided.set(slot, held);
    return pushedOut;
  }

  /** The undecided trace `held` got its decision: it keeps that alone. */
  decide(held: Held, d: Decision): void {
    this.decisions[held.slot] = d;
    this.undecided.delete(held.slot);
    held.done = true;
  }

  /** The next slot, for `id`: a free one, or the oldest, whose trace leaves. */
  private take(id: string, h: number): number {
    const slot = this.ring.add(h);
    this.ids.set(slot, id);
    return slot;
  }

  /** The undecided trace that had `slot`, if any, leaves before its decision. */
  private pushOut(slot: number): Held | undefined {
    // only an undecided trace (or a slot never used) has no decision: the others need no look-up
    if (this.decisions[slot] !== Decision.Unspecified) return undefined;
    const held = this.undecided.get(slot);
    if (held) {
      this.undecided.delete(slot);
      held.done = true;
    }
    return held;
  }
}
