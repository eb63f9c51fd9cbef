/**
 * A map bounded to about `capacity` keys, in two generations: writes go to
 * the young one; when it is full the old one is dropped whole and the young
 * one ages. Nearly least-recently-written (or used, with getAndRenew), and
 * O(1): evicting the single oldest key through a Map's iterator costs time in
 * proportion to the deleted entries V8 keeps at the front of the table until
 * it rehashes.
 */
export class TwoGenerationMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  /** keys a generation holds; the map holds between this and twice this */
  private readonly generation: number;

  constructor(capacity: number) {
    this.generation = Math.max(1, Math.ceil(capacity / 2));
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  getYoung(key: K): V | undefined {
    return this.young.get(key);
  }

  getOld(key: K): V | undefined {
    return this.old.get(key);
  }

  /** The value of `key`, young or old; an old one is written again, so what is read stays. */
  getAndRenew(key: K): V | undefined {
    const young = this.young.get(key);
    if (young !== undefined) return young;
    const old = this.old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  /** Writes to the young generation, ageing it first when it is full and `key` is new to it. */
  set(key: K, value: V): void {
    if (this.young.size >= this.generation && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
