/**
 * The client calls held, oldest first, each with the scheduler time it
 * arrived: a ring of both, side by side (no object per call), doubled when
 * full. A queue over an array grew by copying and was cut by copying as calls
 * left: ~25 bytes a message on the demo capture, in arrays of thousands of
 * calls that outlived the young generation.
 */
import type { L7Message } from '../../core/signals';

/** slots of a new ring (a power of two); a ring that grew past it is let go when it empties */
const INITIAL_SLOTS = 64;

export class HeldCalls {
  private calls = new Array<L7Message | undefined>(INITIAL_SLOTS).fill(undefined);
  private arrivedMs = new Float64Array(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(call: L7Message, arrivedMs: number): void {
    if (this.count === this.calls.length) this.grow();
    const at = (this.head + this.count) & this.mask;
    this.calls[at] = call;
    this.arrivedMs[at] = arrivedMs;
    this.count++;
  }

  /** The oldest call (the ring not empty). */
  oldest(): L7Message {
    return this.calls[this.head]!;
  }

  /** When the oldest call arrived (the ring not empty). */
  oldestArrivedMs(): number {
    return this.arrivedMs[this.head];
  }

  /** Drops the oldest call (the ring not empty). */
  shift(): void {
    this.calls[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    if (--this.count === 0 && this.calls.length > INITIAL_SLOTS) this.reset();
  }

  private grow(): void {
    const slots = 2 * this.calls.length;
    const calls = new Array<L7Message | undefined>(slots).fill(undefined);
    const arrivedMs = new Float64Array(slots);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & this.mask;
      calls[i] = this.calls[from];
      arrivedMs[i] = this.arrivedMs[from];
    }
    this.calls = calls;
    this.arrivedMs = arrivedMs;
    this.mask = slots - 1;
    this.head = 0;
  }

  private reset(): void {
    this.calls = new Array<L7Message | undefined>(INITIAL_SLOTS).fill(undefined);
    this.arrivedMs = new Float64Array(INITIAL_SLOTS);
    this.mask = INITIAL_SLOTS - 1;
    this.head = 0;
  }
}
