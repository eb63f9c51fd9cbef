/**
 * The linker's key indexes: from a key's 32-bit hash to the first held slot
 * of that hash; the other slots of the hash chain through the slots, and the
 * caller compares whole keys. Open addressing, hash and slot side by side in
 * one Int32Array: a lookup touches one cache line, where a Map of 100k+ keys
 * touches a bucket, an entry and the stored key, each a cache miss.
 *
 * A removal moves the later cells of its run back (backward-shift deletion)
 * instead of leaving a marker: with a hash added and removed per held span,
 * markers lengthened every probe and made the table be rebuilt every few
 * seconds under load (megabytes allocated, filled and walked each time).
 */
import { fmix32 } from '../../core/hash';
import { NONE } from './slots';

const EMPTY = NONE;
const MIN_CELLS = 1024;

export class SlotIndex {
  /** [hash, slot] per cell; slot EMPTY when none */
  private cells = new Int32Array(2 * MIN_CELLS).fill(EMPTY);
  private mask = MIN_CELLS - 1;
  private live = 0;

  /** @param spread turns a key's hash into its first cell (masked): the default mixes weak low bits (FNV's) over the table */
  constructor(private readonly spread: (hash: number) => number = fmix32) {}

  get size(): number {
    return this.live;
  }

  /** The first slot of `hash`, or NONE. */
  get(hash: number): number {
    const i = this.find(hash);
    return i < 0 ? NONE : this.cells[2 * i + 1];
  }

  /**
   * The first slot of `hash`; when the hash has none, `slot` becomes its
   * first and NONE is returned. One probe where a look-up and an add took two.
   */
  firstOrAdd(hash: number, slot: number): number {
    const cells = this.cells;
    const mask = this.mask;
    for (let i = this.spread(hash) & mask; ; i = (i + 1) & mask) {
      const first = cells[2 * i + 1];
      if (first === EMPTY) {
        cells[2 * i] = hash;
        cells[2 * i + 1] = slot;
        // at most three quarters full: runs stay within a cache line or two (8 cells a line), and a table
        // grows to twice the most keys held at the latest where at half full it went to four times
        if (++this.live * 4 > (mask + 1) * 3) this.grow();
        return NONE;
      }
      if (cells[2 * i] === hash) return first;
    }
  }

  /**
   * When `slot` is the first of `hash`, `next` takes its place (NONE: the
   * hash leaves). Returns the first slot found, NONE if the hash is absent.
   */
  replaceFirst(hash: number, slot: number, next: number): number {
    const i = this.find(hash);
    if (i < 0) return NONE;
    const first = this.cells[2 * i + 1];
    if (first === slot) {
      if (next === NONE) this.remove(i);
      else this.cells[2 * i + 1] = next;
    }
    return first;
  }

  /** The cell holding `hash`, or -1. */
  private find(hash: number): number {
    const cells = this.cells;
    const mask = this.mask;
    for (let i = this.spread(hash) & mask; ; i = (i + 1) & mask) {
      if (cells[2 * i + 1] === EMPTY) return -1;
      if (cells[2 * i] === hash) return i;
    }
  }

  /** Empties cell `hole`: each later cell of its run whose probe passed the hole moves into it, leaving the next hole. */
  private remove(hole: number): void {
    const cells = this.cells;
    const mask = this.mask;
    for (let j = (hole + 1) & mask; cells[2 * j + 1] !== EMPTY; j = (j + 1) & mask) {
      const home = this.spread(cells[2 * j]) & mask;
      // cyclic distances: the hole lies between the cell's first probe and the cell
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        cells[2 * hole] = cells[2 * j];
        cells[2 * hole + 1] = cells[2 * j + 1];
        hole = j;
      }
    }
    cells[2 * hole + 1] = EMPTY;
    this.live--;
  }

  /** Into twice the cells. The table stays at the size of the most spans held at once, as Slots does. */
  private grow(): void {
    const old = this.cells;
    const n = 2 * (this.mask + 1);
    this.cells = new Int32Array(2 * n).fill(EMPTY);
    this.mask = n - 1;
    this.live = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== EMPTY) this.firstOrAdd(old[i], old[i + 1]);
  }
}
