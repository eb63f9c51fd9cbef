/**
 * Numbers by entry number that are nearly always 32-bit unsigned integers
 * (TCP sequence numbers): 4 bytes an entry where a Float64Array took 8. Any
 * other value (a bigint, a fraction, a negative number, none, or OTHER
 * itself) is marked OTHER and kept in a side map. Made at the capacity, no
 * entry written until set: pages become resident as entries reach them.
 */

/** an entry whose value is in the side map */
const OTHER = 0xffffffff;

export class Uint32Column {
  private values: Uint32Array;
  private readonly others = new Map<number, number | bigint | undefined>();

  constructor(capacity: number) {
    this.values = new Uint32Array(capacity);
  }

  set(i: number, v: number | bigint | undefined): void {
    if (typeof v === 'number' && v >>> 0 === v && v !== OTHER) {
      this.values[i] = v;
      if (this.others.size > 0) this.others.delete(i);
    } else {
      this.values[i] = OTHER;
      this.others.set(i, v);
    }
  }

  get(i: number): number | bigint | undefined {
    const v = this.values[i];
    return v !== OTHER ? v : this.others.get(i);
  }

  /** Whether entry `i` holds `v` (a bigint equals only a bigint). */
  equals(i: number, v: number | bigint | undefined): boolean {
    const own = this.values[i];
    return own !== OTHER ? own === v : this.others.has(i) && this.others.get(i) === v;
  }

  /** Drops entry `i`'s side value, if any: an entry no longer used keeps nothing alive. */
  clear(i: number): void {
    if (this.others.size > 0) this.others.delete(i);
  }

  /** Room for `n` entries, the first ones kept. */
  resize(n: number): void {
    const values = new Uint32Array(n);
    values.set(this.values.subarray(0, Math.min(n, this.values.length)));
    this.values = values;
  }
}
