/**
 * Ids by entry number, for ids held by the hundred thousand: lower-case hex
 * of the column's width (32 characters for trace ids and thread trace ids,
 * 16 for span ids, as espan makes them) is packed into 32-bit words, 4 bytes
 * per 8 characters, where a string costs 40–100 bytes and is one more object
 * for the garbage collector to walk. Any other string, and the all-zero id
 * (zero words stand for no id, so no column of kinds is kept), is kept as it
 * is. An entry without an id leaves zero words unwritten: the pages of a
 * column of absent ids (a web server's remembered network keys have no
 * span id) stay untouched.
 */
import { hex128, hex64 } from '../hash';

/** hex digit values by char code below 128, -1 for any other character */
const DIGITS = new Int8Array(128).fill(-1);
for (let c = 0; c < 16; c++) DIGITS['0123456789abcdef'.charCodeAt(c)] = c;

/**
 * Packs `s`, `n` words of lower-case hex, into `words` at `at`; false (the
 * words partly written) when it is not such. One check at the end, none per
 * character: ids are nearly always hex.
 */
function pack(s: string, words: Uint32Array, at: number, n: number): boolean {
  if (s.length !== n * 8) return false;
  let bad = 0;
  for (let w = 0, j = 0; w < n; w++) {
    let v = 0;
    for (const end = j + 8; j < end; j++) {
      const c = s.charCodeAt(j);
      // -1 for characters past 127 (their sign bit), else the table's value
      const d = DIGITS[c & 127] | ((127 - c) >> 31);
      bad |= d;
      v = (v << 4) | (d & 15);
    }
    words[at + w] = v;
  }
  return bad >= 0;
}

/**
 * The two ids of a width packed last (newest first) and their words, `n` words each: the
 * spans of a trace write its id into several columns one after another (linking's link
 * keys, then tail_sampling's traces), and an id packed in between, of the same width (a
 * thread trace id) or of another (a span id), does not push it out.
 */
interface RecentlyPacked {
  readonly ids: [string, string];
  readonly words: Uint32Array;
}
const RECENT_OF_16: RecentlyPacked = { ids: ['', ''], words: new Uint32Array(2 * 2) };
const RECENT_OF_32: RecentlyPacked = { ids: ['', ''], words: new Uint32Array(2 * 4) };

export class IdColumn {
  /** 32-bit words per packed id */
  private readonly n: number;
  /** made on the first packed id: a column of connections (network keys) never packs one; all zero where none is */
  private words: Uint32Array | undefined;
  /** the ids that are not packed; made on the first one */
  private text: Array<string | undefined> | undefined;
  /** scratch for comparing: the packed form of the id looked for */
  private readonly probe: Uint32Array;
  private readonly recent: RecentlyPacked;

  constructor(
    chars: 16 | 32,
    private readonly capacity: number,
  ) {
    this.n = chars / 8;
    this.recent = chars === 16 ? RECENT_OF_16 : RECENT_OF_32;
    this.probe = new Uint32Array(this.n);
  }

  set(i: number, id: string | undefined): void {
    if (id !== undefined && id.length === this.n * 8 && this.pack(id, i)) {
      if (this.text) this.text[i] = undefined;
      return;
    }
    this.clearWords(i);
    if (id !== undefined) (this.text ??= new Array<string | undefined>(this.capacity).fill(undefined))[i] = id;
    else if (this.text) this.text[i] = undefined;
  }

  /** Packs `id` into entry `i`; false when it is not lower-case hex, or all zeros. */
  private pack(id: string, i: number): boolean {
    const n = this.n;
    const words = (this.words ??= new Uint32Array(this.capacity * n));
    const at = i * n;
    const { ids, words: kept } = this.recent;
    const from = id === ids[0] ? 0 : id === ids[1] ? n : -1;
    if (from >= 0) {
      for (let w = 0; w < n; w++) words[at + w] = kept[from + w];
      return true;
    }
    if (!pack(id, words, at, n) || !nonZero(words, at, n)) return false;
    // the newer of the two becomes the older
    ids[1] = ids[0];
    ids[0] = id;
    for (let w = 0; w < n; w++) {
      kept[n + w] = kept[w];
      kept[w] = words[at + w];
    }
    return true;
  }

  /** Zero words for entry `i`, written only over others: a page of entries without packed ids stays untouched. */
  private clearWords(i: number): void {
    const words = this.words;
    if (!words) return;
    for (let w = i * this.n, end = w + this.n; w < end; w++) if (words[w] !== 0) words[w] = 0;
  }

  get(i: number): string | undefined {
    const words = this.words;
    const at = i * this.n;
    if (words && nonZero(words, at, this.n)) return this.n === 2 ? hex64(words[at], words[at + 1]) : hex128(words, at);
    return this.text?.[i];
  }

  /** Whether entry `i` holds `id`. */
  equals(i: number, id: string): boolean {
    const text = this.text?.[i];
    if (text !== undefined) return text === id;
    const words = this.words;
    const n = this.n;
    // an all-zero id is kept as text, so no packed entry (nor one without an id) holds it
    if (!words || !pack(id, this.probe, 0, n) || !nonZero(this.probe, 0, n)) return false;
    for (let w = 0; w < n; w++) if (words[i * n + w] !== this.probe[w]) return false;
    return true;
  }
}

function nonZero(words: Uint32Array, at: number, n: number): boolean {
  let any = 0;
  for (let w = 0; w < n; w++) any |= words[at + w];
  return any !== 0;
}
