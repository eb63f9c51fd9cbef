/**
 * HPACK (RFC 7541) decoding over Uint8Array: integers, strings (with the
 * static Huffman code), the static table and one dynamic table per direction.
 *
 * Only the values of the fields a caller wants are ever decoded into strings;
 * every other value (Authorization, Cookie, anything) is only measured, so the
 * dynamic table keeps its size right without holding the value.
 *
 * A table whose connection start was not seen holds only the entries inserted
 * since: a reference beyond them is reported as unknown, never guessed.
 * Indices count from the newest entry, so eviction never changes what a
 * reference to a held entry means; eviction only bounds memory.
 */

import { latin1 } from '../decoder';

/** RFC 7541 Appendix A. */
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** HTTP/2's initial SETTINGS_HEADER_TABLE_SIZE. */
export const DEFAULT_TABLE_SIZE = 4096;

/** Bits per symbol of the canonical Huffman code of RFC 7541 Appendix B, symbols 0–255 and EOS (256). */
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

/** The code of each symbol: canonical, so codes of one length are consecutive and ordered by symbol. */
const CODES = new Int32Array(HUFFMAN_LENGTHS.length);
{
  let code = 0;
  for (let l = 1; l <= 30; l++) {
    for (let s = 0; s < HUFFMAN_LENGTHS.length; s++) if (HUFFMAN_LENGTHS[s] === l) CODES[s] = code++;
    code <<= 1;
  }
}

/** The Huffman code of `symbol` (for tests and encoders): [code, bits]. */
export function huffmanCode(symbol: number): [number, number] {
  return [CODES[symbol], HUFFMAN_LENGTHS[symbol]];
}

/**
 * Decoding four bits at a time: a state is an inner node of the code tree
 * (0 the root); NEXT[state * 16 + nibble] is the node reached, EMIT the symbol
 * completed on the way (-1 none; codes are 5 bits or more, so at most one),
 * FAILS when the way completes EOS. ACCEPTS: the states a string may end in,
 * those reached from the root by at most seven 1-bits (padding is a prefix of
 * EOS shorter than a byte).
 */
const NEXT = new Uint8Array(256 * 16);
const EMIT = new Int16Array(256 * 16);
const FAILS = new Uint8Array(256 * 16);
const ACCEPTS = new Uint8Array(256);
{
  // the tree: children[node] = [zero, one]; a child >= 0 is an inner node, < 0 the leaf of symbol -child - 1
  const children: Array<[number, number]> = [[NaN, NaN]];
  for (let sym = 0; sym < HUFFMAN_LENGTHS.length; sym++) {
    let node = 0;
    for (let i = HUFFMAN_LENGTHS[sym] - 1; i > 0; i--) {
      const bit = (CODES[sym] >>> i) & 1;
      if (Number.isNaN(children[node][bit])) {
        children[node][bit] = children.length;
        children.push([NaN, NaN]);
      }
      node = children[node][bit];
    }
    children[node][CODES[sym] & 1] = -sym - 1;
  }
  for (let state = 0; state < children.length; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let emit = -1;
      let fails = 0;
      for (let b = 3; b >= 0; b--) {
        const child = children[node][(nibble >> b) & 1];
        if (child >= 0) {
          node = child;
          continue;
        }
        if (-child - 1 === EOS) fails = 1;
        emit = -child - 1;
        node = 0;
      }
      NEXT[state * 16 + nibble] = node;
      EMIT[state * 16 + nibble] = emit;
      FAILS[state * 16 + nibble] = fails;
    }
  }
  for (let node = 0, depth = 0; depth <= 7 && node >= 0; depth++, node = children[node][1]) ACCEPTS[node] = 1;
}

/**
 * Decodes the Huffman-coded octets buf[start, end). Returns the text (Latin-1)
 * when `keep`, else the decoded length as a number; undefined when the octets
 * are not a valid encoding (EOS inside, padding longer than 7 bits or not all
 * ones: RFC 7541 section 5.2).
 */
export function huffmanDecode(buf: Uint8Array, start: number, end: number, keep: true): string | undefined;
export function huffmanDecode(buf: Uint8Array, start: number, end: number, keep: false): number | undefined;
export function huffmanDecode(buf: Uint8Array, start: number, end: number, keep: boolean): string | number | undefined {
  // at most 8/5 symbols per byte (the shortest code has 5 bits)
  const out = keep ? symbolScratch(Math.ceil(((end - start) * 8) / 5)) : symbolScratch(0);
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i];
    let t = state * 16 + (byte >> 4);
    if (FAILS[t]) return undefined;
    if (EMIT[t] >= 0) {
      if (keep) out[n] = EMIT[t];
      n++;
    }
    t = NEXT[t] * 16 + (byte & 15);
    if (FAILS[t]) return undefined;
    if (EMIT[t] >= 0) {
      if (keep) out[n] = EMIT[t];
      n++;
    }
    state = NEXT[t];
  }
  if (!ACCEPTS[state]) return undefined;
  return keep ? latin1(out, 0, n) : n;
}

/** Decoded symbols are written here, then read as one string: no string grown a character at a time. */
let symbols = new Uint8Array(4096);

function symbolScratch(n: number): Uint8Array {
  if (n > symbols.length) symbols = new Uint8Array(n);
  return symbols;
}

/** A decoded integer and the index after it; shared, read before the next call. */
const int = { value: 0, next: 0 };

/** RFC 7541 section 5.1; false when the bytes end first or the value is implausibly large. */
function readInteger(buf: Uint8Array, at: number, end: number, prefixBits: number): boolean {
  const max = (1 << prefixBits) - 1;
  let v = buf[at] & max;
  at++;
  if (v === max) {
    let shift = 0;
    for (;;) {
      if (at >= end || shift > 21) return false;
      const b = buf[at++];
      v += (b & 127) * 2 ** shift;
      shift += 7;
      if ((b & 128) === 0) break;
    }
  }
  int.value = v;
  int.next = at;
  return true;
}

interface Entry {
  /** undefined: inserted with a name from an entry that was unknown */
  name: string | undefined;
  /** undefined: a value nobody wanted, never decoded */
  value: string | undefined;
  size: number;
}

/** One direction's dynamic table (the encoder of that direction's header blocks and our copy of it). */
export class DynamicTable {
  /** newest last */
  private entries: Entry[] = [];
  private size = 0;
  /** the encoder's table size as last announced (dynamic table size update), and the decoder's SETTINGS limit */
  private announced = DEFAULT_TABLE_SIZE;
  private settingsLimit = DEFAULT_TABLE_SIZE;

  /**
   * @param cap bytes (RFC 7541 sizes) held at most, whatever the peers agree
   * @param complete the table was seen from the connection's start: every entry is known
   */
  constructor(
    private readonly cap: number,
    public complete: boolean,
  ) {}

  get length(): number {
    return this.entries.length;
  }

  /** The decoder's SETTINGS_HEADER_TABLE_SIZE: the encoder may use no more. */
  setSettingsLimit(n: number): void {
    this.settingsLimit = n;
    this.evict();
  }

  /** A dynamic table size update in a header block; false when it exceeds what the decoder allowed. */
  resize(n: number): boolean {
    if (n > this.settingsLimit && this.complete) return false;
    this.announced = n;
    this.evict();
    return true;
  }

  /** Nothing held can be trusted any more (lost or damaged header block): entries inserted from now on are known again. */
  forget(): void {
    this.entries = [];
    this.size = 0;
    this.complete = false;
  }

  /** The entry `d` places from the newest, or undefined when not held. */
  get(d: number): Entry | undefined {
    return d < this.entries.length ? this.entries[this.entries.length - 1 - d] : undefined;
  }

  insert(name: string | undefined, value: string | undefined, size: number): void {
    this.entries.push({ name, value, size });
    this.size += size;
    this.evict();
  }

  private evict(): void {
    const limit = Math.min(this.announced, this.settingsLimit, this.cap);
    let drop = 0;
    while (this.size > limit && drop < this.entries.length) this.size -= this.entries[drop++].size;
    if (drop) this.entries.splice(0, drop);
  }
}

/** What a header block's fields go to. */
export interface FieldSink {
  /** whether the value of a field named `name` (lower case) should be decoded */
  wants(name: string): boolean;
  field(name: string, value: string): void;
  /** a field referred to a dynamic table entry that is not known */
  unknown(): void;
}

/** A field's string: text when kept, else its decoded length; shared like `int`. */
const str = { text: '' as string | undefined, length: 0, next: 0 };

function readString(buf: Uint8Array, at: number, end: number, keep: boolean): boolean {
  const huffman = (buf[at] & 128) !== 0;
  if (!readInteger(buf, at, end, 7)) return false;
  const s = int.next;
  const e = s + int.value;
  if (e > end) return false;
  str.next = e;
  if (!huffman) {
    str.length = e - s;
    str.text = keep ? latin1(buf, s, e) : undefined;
    return true;
  }
  if (keep) {
    const t = huffmanDecode(buf, s, e, true);
    if (t === undefined) return false;
    str.text = t;
    str.length = t.length;
  } else {
    const n = huffmanDecode(buf, s, e, false);
    if (n === undefined) return false;
    str.text = undefined;
    str.length = n;
  }
  return true;
}


const ENTRY_OVERHEAD = 32;

/**
 * Decodes one complete header block buf[start, end) against `table`, which it
 * updates. Returns false when the block is malformed; the table is then
 * forgotten (what it holds may no longer match the encoder's).
 */
export function decodeHeaderBlock(buf: Uint8Array, start: number, end: number, table: DynamicTable, sink: FieldSink): boolean {
  if (decodeFields(buf, start, end, table, sink)) return true;
  table.forget();
  return false;
}

function decodeFields(buf: Uint8Array, at: number, end: number, table: DynamicTable, sink: FieldSink): boolean {
  while (at < end) {
    const b = buf[at];
    if (b & 128) {
      // indexed field
      if (!readInteger(buf, at, end, 7) || int.value === 0) return false;
      at = int.next;
      const i = int.value;
      if (i <= STATIC_TABLE.length) {
        const [name, value] = STATIC_TABLE[i - 1];
        if (sink.wants(name)) sink.field(name, value);
        continue;
      }
      const e = table.get(i - STATIC_TABLE.length - 1);
      if (!e || e.name === undefined) sink.unknown();
      else if (sink.wants(e.name)) {
        if (e.value === undefined) sink.unknown();
        else sink.field(e.name, e.value);
      }
      continue;
    }
    if ((b & 0xe0) === 0x20) {
      // dynamic table size update
      if (!readInteger(buf, at, end, 5) || !table.resize(int.value)) return false;
      at = int.next;
      continue;
    }
    // a literal: with incremental indexing (01), without (0000) or never indexed (0001)
    const indexing = (b & 0xc0) === 0x40;
    if (!indexing && (b & 0xe0) !== 0) return false;
    if (!readInteger(buf, at, end, indexing ? 6 : 4)) return false;
    at = int.next;
    let name: string | undefined;
    let nameLength = 0;
    if (int.value === 0) {
      if (at >= end || !readString(buf, at, end, true)) return false;
      name = str.text!.toLowerCase();
      nameLength = str.length;
      at = str.next;
    } else if (int.value <= STATIC_TABLE.length) {
      name = STATIC_TABLE[int.value - 1][0];
      nameLength = name.length;
    } else {
      const e = table.get(int.value - STATIC_TABLE.length - 1);
      name = e?.name;
      nameLength = name?.length ?? 0;
    }
    const wanted = name !== undefined && sink.wants(name);
    if (at >= end || !readString(buf, at, end, wanted)) return false;
    at = str.next;
    if (name === undefined) sink.unknown();
    else if (wanted) sink.field(name, str.text!);
    if (indexing) table.insert(name, wanted ? str.text : undefined, nameLength + str.length + ENTRY_OVERHEAD);
  }
  return true;
}
