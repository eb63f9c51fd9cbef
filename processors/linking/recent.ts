/**
 * Maps holding about the `capacity` most recently written keys, in two
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
    this.generation = generationOf(capacity);
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

/** An entry keyed by a network key: it says which key it is, and chains to the next one of the same hash. */
export interface NetEntry {
  conn: string;
  seq: number | bigint;
  next: this | undefined;
}

/**
 * A RecentMap for network keys, keyed by their hash (a number) rather than
 * a string built per span: keys of the same hash chain in their entries.
 */
export class RecentNetMap<E extends NetEntry> {
  private young = new Map<number, E>();
  private old = new Map<number, E>();
  private youngCount = 0;
  private oldCount = 0;
  private readonly generation: number;

  constructor(capacity: number) {
    this.generation = generationOf(capacity);
  }

  get size(): number {
    return this.youngCount + this.oldCount;
  }

  get(hash: number, conn: string, seq: number | bigint): E | undefined {
    return find(this.young.get(hash), conn, seq) ?? find(this.old.get(hash), conn, seq);
  }

  set(hash: number, entry: E): void {
    let head = this.young.get(hash);
    let prev: E | undefined;
    for (let e = head; e; prev = e, e = e.next) {
      if (e.conn === entry.conn && e.seq === entry.seq) {
        // already young: replace it, the count stays
        if (prev) prev.next = e.next;
        else head = e.next;
        entry.next = head;
        this.young.set(hash, entry);
        return;
      }
    }
    if (this.youngCount >= this.generation) {
      this.old = this.young;
      this.oldCount = this.youngCount;
      this.young = new Map();
      this.youngCount = 0;
      head = undefined;
    }
    entry.next = head;
    this.young.set(hash, entry);
    this.youngCount++;
  }
}

function find<E extends NetEntry>(head: E | undefined, conn: string, seq: number | bigint): E | undefined {
  for (let e = head; e; e = e.next) if (e.conn === conn && e.seq === seq) return e;
  return undefined;
}

function generationOf(capacity: number): number {
  return Math.max(1, Math.ceil(capacity / 2));
}
