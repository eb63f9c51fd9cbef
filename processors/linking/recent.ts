/**
 * Link keys of emitted traces, about the `capacity` most recently written
 * (core's two-generation map).
 *
 * Keyed by the hash the linker already has (a Smi: no string hashed or
 * compared by the Map); entries say which key they are, and keys of the
 * same hash chain through them, so the bound counts hashes.
 */
import { TwoGenerationMap } from '../../core/collections/two-generation-map';

/** A key is a string and, for network keys, a sequence number. */
export interface RecentEntry {
  key: string;
  seq: number | bigint | undefined;
  next: this | undefined;
}

export class RecentMap<E extends RecentEntry> {
  private readonly chains: TwoGenerationMap<number, E>;

  constructor(capacity: number) {
    this.chains = new TwoGenerationMap(capacity);
  }

  get size(): number {
    return this.chains.size;
  }

  get(hash: number, key: string, seq: number | bigint | undefined): E | undefined {
    return find(this.chains.getYoung(hash), key, seq) ?? find(this.chains.getOld(hash), key, seq);
  }

  set(hash: number, entry: E): void {
    let head = this.chains.getYoung(hash);
    let prev: E | undefined;
    for (let e = head; e; prev = e, e = e.next) {
      if (e.key === entry.key && e.seq === entry.seq) {
        // already young: take the old entry out of the chain
        if (prev) prev.next = e.next;
        else head = e.next;
        break;
      }
    }
    entry.next = head;
    this.chains.set(hash, entry);
  }
}

function find<E extends RecentEntry>(head: E | undefined, key: string, seq: number | bigint | undefined): E | undefined {
  for (let e = head; e; e = e.next) if (e.key === key && e.seq === seq) return e;
  return undefined;
}
