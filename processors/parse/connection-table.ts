/**
 * The parse engine's live connections by id: an open-addressing table
 * (linear probing, deletion by shifting back the entries after the freed
 * one) of the connections themselves, with each entry's hash in a column
 * beside it. A freed connection's entry is emptied at once, so nothing here
 * keeps it reachable: a Map from id to connection did (V8 may hold on to a
 * deleted value until its next full collection, and every scavenge until
 * then copied the connection and all it refers to), and a Map from id to a
 * slot number cost a lookup, an insertion and a deletion of V8's hash table
 * per connection, and a rehash into a new table every few hundred
 * connections as deleted entries piled up (the demo capture makes a
 * connection per MySQL query and per HTTP call between its services).
 */
export interface Keyed {
  readonly id: string;
}

/** The table doubles when more than this share of it is taken, so probe runs stay short. */
const MAX_LOAD = 0.5;

export class ConnectionTable<T extends Keyed> {
  private items: (T | undefined)[];
  private hashes: Int32Array;
  private mask: number;
  private count = 0;

  /** `capacity`: a power of two */
  constructor(capacity = 256) {
    this.items = new Array<T | undefined>(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  get(id: string): T | undefined {
    const h = idHash(id);
    const items = this.items;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const item = items[i];
      if (item === undefined) return undefined;
      if (this.hashes[i] === h && item.id === id) return item;
    }
  }

  /** Adds `item`, which no item in the table shares an id with. */
  add(item: T): void {
    if (this.count + 1 > this.items.length * MAX_LOAD) this.grow();
    this.place(item, idHash(item.id));
    this.count++;
  }

  /** Removes `item`, which is in the table. */
  delete(item: T): void {
    const items = this.items;
    const hashes = this.hashes;
    const mask = this.mask;
    let i = idHash(item.id) & mask;
    while (items[i] !== item) i = (i + 1) & mask;
    // shift back each later entry of the run that may sit at the freed place (its home is not between the two)
    for (let next = (i + 1) & mask; items[next] !== undefined; next = (next + 1) & mask) {
      const home = hashes[next] & mask;
      if (((next - home) & mask) >= ((next - i) & mask)) {
        items[i] = items[next];
        hashes[i] = hashes[next];
        i = next;
      }
    }
    items[i] = undefined;
    this.count--;
  }

  private place(item: T, h: number): void {
    const items = this.items;
    let i = h & this.mask;
    while (items[i] !== undefined) i = (i + 1) & this.mask;
    items[i] = item;
    this.hashes[i] = h;
  }

  private grow(): void {
    const items = this.items;
    const hashes = this.hashes;
    const capacity = items.length * 2;
    this.items = new Array<T | undefined>(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item !== undefined) this.place(item, hashes[i]);
    }
  }
}

/**
 * A hash of the id's last characters and its length: ids end in random
 * characters (uni_id's random salt, the pcap receiver's SHA-1), and their
 * last eight say enough; ids that differ only earlier still compare apart,
 * in one probe run.
 */
function idHash(id: string): number {
  const n = id.length;
  let h = n;
  for (let i = n > 8 ? n - 8 : 0; i < n; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h ^ (h >>> 15);
}
