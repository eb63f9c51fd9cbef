/**
 * Encoded KeyValue messages of attribute pairs seen before. Most of a span's
 * attributes repeat from span to span (`network.transport: tcp`,
 * `http.request.method: GET`, the host id, a server address); copying their
 * bytes is several times cheaper than writing the key and the value again.
 *
 * A pair is kept as written (its length varint and body, without the field
 * tag, so it serves under any tag), and only once the writer wrote it: the
 * cache holds exactly the encoder's own output. Each key learns whether its
 * values repeat: a key whose values fill its table with fewer hits than
 * entries (sequence numbers, ids) stops being cached for a while, so unique
 * values cost one lookup, not a copy into a table that is never read.
 * Bounded in keys, values per key and bytes.
 */
import { keyFieldOf, type ProtoWriter } from './proto-writer';

/** A primitive attribute value: the kinds whose pairs are cached. */
export type CachedValue = string | number | boolean;

const MAX_KEYS = 1024;
const VALUES_PER_KEY = 256;
/** pairs longer than this are written each time: long texts rarely repeat exactly */
const MAX_PAIR_BYTES = 512;
const MAX_BYTES = 4 * 1024 * 1024;
/** uses a key whose values did not repeat waits before it is tried again */
const PAUSE = 1 << 16;

class KeyEntry {
  /** the key of the attribute that followed this one last time: tried before the map */
  next: KeyEntry | undefined = undefined;
  /** the key's KeyValue.key field, written once (undefined for keys that are not short ASCII) */
  readonly keyField: Uint8Array | undefined;
  /** encoded pairs by value; undefined while caching is paused for this key */
  values: Map<CachedValue, Uint8Array> | undefined = new Map();
  /** bytes held in `values` */
  bytes = 0;
  hits = 0;
  paused = 0;
  /** the value of the last hit and its pair, tried before `values`: most keys keep one value span after span */
  lastValue: CachedValue = '';
  lastPair: Uint8Array | undefined = undefined;

  constructor(readonly key: string) {
    this.keyField = keyFieldOf(key);
  }

  /** Empties `values` (or drops it, pausing the key). */
  forgetValues(pause: boolean): void {
    if (pause) {
      this.values = undefined;
      this.paused = PAUSE;
    } else this.values?.clear();
    this.bytes = 0;
    this.hits = 0;
    this.lastPair = undefined;
  }
}

export class KeyValueCache {
  private readonly byKey = new Map<string, KeyEntry>();
  /** before the first key of a list: its `next` is the first key of the list before */
  private readonly head = new KeyEntry('');
  /** the entry of the attribute before in the list being written */
  private prev = this.head;
  private bytes = 0;
  /** the pair the last `get` missed, for `keep` */
  private missedEntry: KeyEntry | undefined;
  private missedValue: CachedValue = '';
  /** the key field of the key the last `get` was asked for, for writing its pair on a miss */
  keyField: Uint8Array | undefined;

  /** Starts a list of attributes: its keys are guessed to follow one another as those of the list before did. */
  beginList(): void {
    this.prev = this.head;
  }

  /** The encoded pair, or undefined (the caller then writes it and calls `keep`). */
  get(key: string, value: CachedValue): Uint8Array | undefined {
    this.missedEntry = undefined;
    // lists of one kind (a kind of span's attributes) keep their keys in one order: the key that
    // followed the one before last time is compared (one pointer, mostly) before the map is asked
    let entry = this.prev.next;
    if (entry === undefined || entry.key !== key) {
      entry = this.byKey.get(key);
      if (entry === undefined) {
        this.keyField = undefined;
        if (this.byKey.size >= MAX_KEYS) {
          this.prev = this.head;
          return undefined;
        }
        entry = new KeyEntry(key);
        this.byKey.set(key, entry);
      }
      this.prev.next = entry;
    }
    this.prev = entry;
    this.keyField = entry.keyField;
    if (entry.lastValue === value && entry.lastPair !== undefined) {
      entry.hits++;
      return entry.lastPair;
    }
    const values = entry.values;
    if (values === undefined) {
      if (--entry.paused <= 0) entry.values = new Map();
      return undefined;
    }
    const encoded = values.get(value);
    if (encoded !== undefined) {
      entry.hits++;
      entry.lastValue = value;
      entry.lastPair = encoded;
      return encoded;
    }
    this.missedEntry = entry;
    this.missedValue = value;
    return undefined;
  }

  /** Keeps w's bytes from `from` to its position as the encoding of the pair the last `get` missed. */
  keep(w: ProtoWriter, from: number): void {
    const entry = this.missedEntry;
    if (entry === undefined || entry.values === undefined) return;
    this.missedEntry = undefined;
    const n = w.pos - from;
    if (n > MAX_PAIR_BYTES) return;
    const values = entry.values;
    if (values.size >= VALUES_PER_KEY) {
      // a full table: start afresh if its values repeated, else stop trying for a while
      this.bytes -= entry.bytes;
      entry.forgetValues(entry.hits < values.size);
      return;
    }
    if (this.bytes + n > MAX_BYTES) {
      this.byKey.clear();
      this.head.next = undefined;
      this.prev = this.head;
      this.bytes = 0;
      return;
    }
    values.set(this.missedValue, w.copy(from));
    entry.bytes += n;
    this.bytes += n;
  }
}
