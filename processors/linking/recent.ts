/**
 * A map holding about the `capacity` most recently written keys, in two
 * generations: writes go to the young one; when it is full the old one is
 * dropped whole and the young one ages. Evicting one oldest key at a time
 * through a Map's iterator looks simpler but costs time in proportion to the
 * deleted entries V8 keeps at the front of the table until it rehashes.
 *
 * Keyed by the hash the linker already has (a Smi: no string hashed or
 * compared by the Map); entries say which key they are, and keys of the
 * same hash chain through them.
 */

/** A key is a string and, for network keys, a sequence number. */
export interface RecentEntry {
  key: string;
  seq: number | bigint | undefined;
  next: this | undefined;
}

export class RecentMap<E extends RecentEntry> {
  private young = new Map<number, E>();
  private old = new Map<number, E>();
  private youngCount = 0;
  private oldCount = 0;
  private readonly generation: number;

  constructor(capacity: number) {
    this.generation = Math.max(1, Math.ceil(capacity / 2));
  }

  get size(): number {
    return this.youngCount + this.oldCount;
  }

  get(hash: number, key: string, seq: number | bigint | undefined): E | undefined {
    return find(this.young.get(hash), key, seq) ?? find(this.old.get(hash), key, seq);
  }

  set(hash: number, entry: E): void {
    let head = this.young.get(hash);
    let prev: E | undefined;
    for (let e = head; e; prev = e, e = e.next) {
      if (e.key === entry.key && e.seq === entry.seq) {
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

function find<E extends RecentEntry>(head: E | undefined, key: string, seq: number | bigint | undefined): E | undefined {
  for (let e = head; e; e = e.next) if (e.key === key && e.seq === seq) return e;
  return undefined;
}
