/**
 * The linker's key indexes: from a key's 32-bit hash to the first held slot
 * of that hash; the other slots of the hash chain through the slots, and the
 * caller compares whole keys. Open addressing, hash and slot side by side in
 * one Int32Array: a lookup touches one cache line, where a Map of 100k+ keys
 * touches a bucket, an entry and the stored key, each a cache miss.
 */
import { fmix32 } from '../../core/hash';
import { NONE } from './slots';

const EMPTY = NONE;
const DELETED = -2;
const MIN_CELLS = 1024;

export class SlotIndex {
  /** [hash, slot] per cell; slot EMPTY or DELETED when none */
  private cells = new Int32Array(2 * MIN_CELLS).fill(EMPTY);
  private mask = MIN_CELLS - 1;
  /** cells not EMPTY: live ones and DELETED markers (both lengthen probes) */
  private used = 0;
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
    if ((this.used + 1) * 2 > this.mask + 1) this.rehash();
    const cells = this.cells;
    const mask = this.mask;
    // the first DELETED cell on the way is reused
    let free = -1;
    for (let i = this.spread(hash) & mask; ; i = (i + 1) & mask) {
      const first = cells[2 * i + 1];
      if (first === EMPTY) {
        if (free < 0) {
          free = i;
          this.used++;
        }
        cells[2 * free] = hash;
        cells[2 * free + 1] = slot;
        this.live++;
        return NONE;
      }
      if (first === DELETED) {
        if (free < 0) free = i;
      } else if (cells[2 * i] === hash) {
        return first;
      }
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
      if (next === NONE) {
        this.cells[2 * i + 1] = DELETED;
        this.live--;
      } else {
        this.cells[2 * i + 1] = next;
      }
    }
    return first;
  }

  /** The cell holding `hash`, or -1. */
  private find(hash: number): number {
    const cells = this.cells;
    const mask = this.mask;
    for (let i = this.spread(hash) & mask; ; i = (i + 1) & mask) {
      const slot = cells[2 * i + 1];
      if (slot === EMPTY) return -1;
      if (cells[2 * i] === hash && slot !== DELETED) return i;
    }
  }

  /**
   * Into a table at most a third full of live cells, without the DELETED
   * markers: at 80k held spans a table of 2 MB rather than 4, rehashed after
   * n/6 more adds at worst (a rehash costs about n: amortised, a few cells per add).
   */
  private rehash(): void {
    const old = this.cells;
    let n = MIN_CELLS;
    while (n < this.live * 3) n *= 2;
    this.cells = new Int32Array(2 * n).fill(EMPTY);
    this.mask = n - 1;
    this.used = 0;
    this.live = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] >= 0) this.firstOrAdd(old[i], old[i + 1]);
  }
}
