/**
 * A map holding about the `capacity` most recently written keys, in two
 * generations: writes go to the young one; when it is full the old one is
 * dropped whole and the young one ages. Evicting one oldest key at a time
 * through a Map's iterator looks simpler but costs time in proportion to the
 * deleted entries V8 keeps at the front of the table until it rehashes.
 */
export class RecentMap<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private readonly generation: number;

  constructor(capacity: number) {
    this.generation = Math.max(1, Math.ceil(capacity / 2));
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: string): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  set(key: string, value: V): void {
    // size first: the has() lookup is only needed when the young generation is full
    if (this.young.size >= this.generation && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
