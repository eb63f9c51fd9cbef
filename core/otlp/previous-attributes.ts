/**
 * A span's attributes written over the bytes of a span written before with
 * the same keys in the same order. Spans of one kind come in runs, and most
 * of a span's values are those of the span before (an nginx agent's spans:
 * 22 keys, 16 values the same, the others of the same width: sequence
 * numbers, ports, a thread trace id). Such a list is written in two steps:
 *
 * 1. its keys and values are compared with the list before, place by place
 *    (`!==` each, by a function compiled for the key sequence once a list
 *    of those keys was written over: change-finder.ts);
 * 2. when every changed value takes the same bytes as the one before (a
 *    non-negative integer of the same varint width, a boolean, an ASCII
 *    string of the same length: an nginx span's ports, sequence numbers,
 *    connection key and thread trace id), the list before is copied whole
 *    and those values are written over the copy; a non-negative integer of
 *    another width (a random 32-bit sequence number takes 4 or 5 bytes) or
 *    an ASCII string of another length (a Redis command's name) splits the
 *    copy there, and is written between the runs with its pair's one-byte
 *    lengths set. Otherwise the list before's bytes are copied in runs
 *    between the places whose value changed, values of the same width
 *    written over their copy and the others on their own between the runs.
 *
 * A small copy costs about as much for 10 bytes as for 500, so most spans'
 * attributes become a copy or two and a few values, where writing each pair,
 * or copying it from the pair cache, costs a call and a copy per pair. The
 * bytes copied are those the writer wrote for the same key and a value of
 * the same kind and width, so the output is the same as writing each pair.
 * Objects (arrays, bytes, kvlists) are always written again: they may have
 * changed since.
 */
import type { AttributeValue, Attributes } from '../signals';
import { ChangeFinders, type ChangeFinder } from './change-finder';
import { varintWidth, type ProtoWriter } from './proto-writer';

/** Longer lists are written pair by pair. */
const MAX_PLACES = 64;

type Value = AttributeValue | undefined | null;

/** What a place holds for an object value (array, bytes, kvlist): equal to no value, so it is always written again. */
const REWRITTEN: unique symbol = Symbol('written again');
type Held = Value | typeof REWRITTEN;

// What a place holds. FALSE and TRUE are the varints 0 and 1 a boolean is written as.
const NONE = 0; // undefined or null: no pair
const NUMBER = 1;
const STRING = 2;
const FALSE = 3;
const TRUE = 4;
const OTHER = 5; // bigints, bytes, arrays, kvlists

// The width of a place's value: how many bytes at the end of its pair are the value's own.
const NOT_OVERWRITTEN = -1;
/** a string whose characters were not looked at yet (its length is its width when it is ASCII) */
const NOT_SCANNED = -2;

/** What v is, as a place holds it (if-chains: a switch on typeof calls the runtime for the type's name). */
function kindOf(v: Value): number {
  if (typeof v === 'number') return NUMBER;
  if (typeof v === 'string') return STRING;
  if (typeof v === 'boolean') return v ? TRUE : FALSE;
  return v === undefined || v === null ? NONE : OTHER;
}

const isBoolean = (kind: number): boolean => kind === FALSE || kind === TRUE;

/** What a place holds for v of `kind`: objects may have changed since, so they never compare equal. */
const held = (kind: number, v: Value): Held => (kind === OTHER ? REWRITTEN : v);

/** The width of a number's varint when another of the same width can be written over it: non-negative safe integers. */
function numberWidth(v: number): number {
  return v >= 0 && Number.isSafeInteger(v) ? varintWidth(v) : NOT_OVERWRITTEN;
}

function asciiWidth(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return NOT_OVERWRITTEN;
  return s.length;
}

/** The width of a value written on its own; strings are looked at only once one of their length follows. */
function writtenWidth(kind: number, v: Value): number {
  if (kind === NUMBER) return numberWidth(v as number);
  if (kind === STRING) return NOT_SCANNED;
  return isBoolean(kind) ? 1 : NOT_OVERWRITTEN;
}

/** Writes the attribute `key: v` (not undefined or null) on its own, as writeKeyValues would. */
export type PairWriter = (w: ProtoWriter, key: string, v: AttributeValue) => void;

/** One list of attributes written before: its keys, values and where each pair's bytes lie in the writer. */
export class PreviousAttributes {
  private readonly keys: string[] = new Array<string>(MAX_PLACES).fill('');
  private readonly values: Held[] = new Array<Held>(MAX_PLACES).fill(undefined);
  private readonly kinds = new Uint8Array(MAX_PLACES);
  private readonly widths = new Int32Array(MAX_PLACES);
  /** where each place's pair ends, from the list's start (a place without a value has an empty pair) */
  private readonly ends = new Int32Array(MAX_PLACES);
  /** the writer, and its generation, the offsets belong to */
  private writer: ProtoWriter | undefined = undefined;
  private generation = -1;
  /** where the list begins in the writer */
  private from = 0;
  private count = 0;
  /** the compiled comparison of this list's keys, once it was written over (undefined before, or when there is none) */
  private finder: ChangeFinder | undefined = undefined;
  private finderLooked = false;

  // scratch of writeOver: the places whose value changed, their values, and values to write over copied bytes
  private readonly changed = new Int32Array(MAX_PLACES);
  private readonly changedValues: Value[] = new Array<Value>(MAX_PLACES).fill(undefined);
  private readonly patchAt = new Int32Array(MAX_PLACES);
  private readonly patchValues = new Float64Array(MAX_PLACES);
  // scratch of overwriteChanges: per change, the width of a value written between runs, or -1
  private readonly resized = new Int32Array(MAX_PLACES);

  /**
   * Writes `attrs` over this list when it has the same keys in the same order
   * (and its bytes are still where they were), and keeps them as this list;
   * returns false, having written nothing, otherwise.
   */
  writeOver(w: ProtoWriter, attrs: Attributes, writePair: PairWriter): boolean {
    const count = this.writer === w && this.generation === w.generation ? this.count : 0;
    if (count === 0) return false;
    const finder = this.finder;
    const changes =
      finder !== undefined ? finder(attrs, this.keys, this.values, this.changed, this.changedValues) : this.findChanges(attrs, count);
    if (changes < 0) return false;
    if (!this.finderLooked) {
      // these keys came twice in a row: worth a function of their own
      this.finder = finders.get(this.keys, count);
      this.finderLooked = true;
    }
    const start = w.pos;
    if (!this.overwriteChanges(w, changes)) this.writeChanges(w, changes, writePair);
    this.generation = w.generation;
    this.from = start;
    return true;
  }

  /** What a ChangeFinder does, by a loop: the places of attrs whose value changed, or -1 when its keys are not this list's. */
  private findChanges(attrs: Attributes, count: number): number {
    const { keys, values, changed, changedValues } = this;
    let changes = 0;
    let i = 0;
    for (const key in attrs) {
      if (i === count || keys[i] !== key) return -1;
      const v = attrs[key];
      if (v !== values[i]) {
        changed[changes] = i;
        changedValues[changes++] = v;
      }
      i++;
    }
    return i === count ? changes : -1;
  }

  /**
   * The list before copied whole, or in runs around values of another
   * width, and the `changes` places' values written over the copy
   * (see the file's comment); returns false, having written nothing (a
   * same-length string found not to be ASCII as it was written is dropped
   * again), when a value takes other bytes.
   */
  private overwriteChanges(w: ProtoWriter, changes: number): boolean {
    const { values, kinds, widths, ends, changed, changedValues, resized } = this;
    let resizes = 0;
    for (let k = 0; k < changes; k++) {
      const c = changed[k];
      const v = changedValues[k];
      const was = kinds[c];
      resized[k] = -1;
      if (typeof v === 'number') {
        const width = numberWidth(v);
        if (was !== NUMBER || widths[c] < 0 || width < 0) return false;
        if (width !== widths[c]) {
          if (!this.lengthStaysOneByte(c, width - widths[c])) return false;
          resized[k] = width;
          resizes++;
        }
      } else if (typeof v === 'boolean') {
        if (!isBoolean(was)) return false;
      } else if (typeof v === 'string' && was === STRING) {
        if (widths[c] === NOT_SCANNED) widths[c] = asciiWidth(values[c] as string);
        if (widths[c] < 0) return false;
        if (v.length !== widths[c]) {
          if (!this.lengthStaysOneByte(c, v.length - widths[c])) return false;
          resized[k] = v.length;
          resizes++;
        }
      } else return false;
    }
    const from = this.from;
    const start = w.pos;
    // bytes of the list before copied so far: [from, from + copied); the list written is `shift` longer up to there
    let copied = 0;
    let shift = 0;
    for (let k = 0; resizes > 0 && k < changes; k++) {
      const width = resized[k];
      if (width < 0) continue;
      const c = changed[k];
      const pairStart = this.pairStart(c);
      const d = width - widths[c];
      // the pair up to its value: ... KeyValue.value tag, AnyValue length, int_value tag (string_value tag, length)
      w.appendWritten(from + copied, from + ends[c] - widths[c]);
      w.overwriteByte(start + pairStart + shift + 1, ends[c] - pairStart - 2 + d);
      const v = changedValues[k];
      if (typeof v === 'number') {
        w.overwriteByte(w.pos - 2, 1 + width);
        w.int64Number(v);
      } else {
        w.overwriteByte(w.pos - 3, 2 + width);
        w.overwriteByte(w.pos - 1, width);
        if (!w.appendAscii(v as string)) {
          w.truncate(start);
          return false;
        }
      }
      copied = ends[c];
      shift += d;
    }
    w.appendWritten(from + copied, from + ends[this.count - 1]);
    shift = 0;
    for (let k = 0; k < changes; k++) {
      const c = changed[k];
      const v = changedValues[k];
      if (resized[k] >= 0) {
        shift += resized[k] - widths[c];
        continue;
      }
      const end = start + ends[c] + shift;
      if (typeof v === 'number') w.overwriteVarint(end - widths[c], v);
      else if (typeof v === 'boolean') w.overwriteByte(end - 1, v ? 1 : 0);
      else if (!w.overwriteAscii(end - widths[c], v as string)) {
        w.truncate(start);
        return false;
      }
    }
    for (let k = 0; k < changes; k++) {
      const c = changed[k];
      const v = changedValues[k];
      if (resized[k] >= 0) {
        const d = resized[k] - widths[c];
        for (let j = c; j < this.count; j++) ends[j] += d;
        widths[c] = resized[k];
      }
      values[c] = v;
      kinds[c] = kindOf(v);
    }
    return true;
  }

  /** Where place c's pair begins, from the list's start. */
  private pairStart(c: number): number {
    return c === 0 ? 0 : this.ends[c - 1];
  }

  /** Whether place c's KeyValue length (the pair less its tag and length) stays one byte with its value `d` bytes longer. */
  private lengthStaysOneByte(c: number, d: number): boolean {
    const body = this.ends[c] - this.pairStart(c) - 2;
    return body < 128 && body + d < 128;
  }

  /** The list before's bytes with the `changes` places changed, copied in runs: see the file's comment. */
  private writeChanges(w: ProtoWriter, changes: number, writePair: PairWriter): void {
    const { keys, values, kinds, widths, ends, changed, changedValues, patchAt, patchValues } = this;
    const from = this.from;
    const start = w.pos;
    // bytes of the list before copied so far: [from, from + copied)
    let copied = 0;
    // how much longer the list written is than the list before, up to the place at hand; ends[] hold the new
    // list's ends up to there and the list before's plus delta beyond (shifted as pairs change length)
    let delta = 0;
    let patches = 0;
    for (let k = 0; k < changes; k++) {
      const c = changed[k];
      const v = changedValues[k];
      const kind = kindOf(v);
      const was = kinds[c];
      const before = values[c];
      const beforeStart = this.pairStart(c) - delta;
      const beforeEnd = ends[c] - delta;
      let width = widths[c];
      // where this place's pair will end once the list before is copied up to it
      const end = start + beforeEnd + delta;
      if (kind === NUMBER && was === NUMBER && width >= 0 && numberWidth(v as number) === width) {
        patchAt[patches] = end - width;
        patchValues[patches++] = v as number;
      } else if (isBoolean(kind) && isBoolean(was)) {
        patchAt[patches] = end - 1;
        patchValues[patches++] = kind - FALSE;
      } else {
        if (kind === STRING && was === STRING && width === NOT_SCANNED && (before as string).length === (v as string).length) {
          width = asciiWidth(before as string);
        }
        const sameLength = kind === STRING && was === STRING && width === (v as string).length;
        // copied up to this pair's end (same length: to write over it) or start (to write it on its own)
        w.appendWritten(from + copied, from + (sameLength ? beforeEnd : beforeStart));
        patches = overwriteNumbers(w, patchAt, patchValues, patches);
        copied = beforeEnd;
        // the text is found to be ASCII as it is written over the old one
        if (!sameLength || !w.overwriteAscii(end - width, v as string)) {
          if (sameLength) w.truncate(end - (beforeEnd - beforeStart));
          const pairStart = w.pos;
          if (kind !== NONE) writePair(w, keys[c], v as AttributeValue);
          width = sameLength ? NOT_OVERWRITTEN : writtenWidth(kind, v);
          const d = w.pos - pairStart - (beforeEnd - beforeStart);
          if (d !== 0) {
            for (let j = c; j < this.count; j++) ends[j] += d;
            delta += d;
          }
        }
      }
      values[c] = held(kind, v);
      kinds[c] = kind;
      widths[c] = width;
    }
    w.appendWritten(from + copied, from + ends[this.count - 1] - delta);
    overwriteNumbers(w, patchAt, patchValues, patches);
  }

  /** Writes `attrs` pair by pair, and keeps them as this list. */
  writeAll(w: ProtoWriter, attrs: Attributes, writePair: PairWriter): void {
    const { keys, values, kinds, widths, ends } = this;
    const start = w.pos;
    // the keys of the list before again (its bytes were in a request sent since): its finder still serves
    let sameKeys = true;
    let i = 0;
    for (const key in attrs) {
      const v = attrs[key];
      if (v !== undefined && v !== null) writePair(w, key, v);
      if (i < MAX_PLACES) {
        const kind = kindOf(v);
        if (keys[i] !== key) {
          keys[i] = key;
          sameKeys = false;
        }
        values[i] = held(kind, v);
        kinds[i] = kind;
        widths[i] = writtenWidth(kind, v);
        ends[i] = w.pos - start;
      }
      i++;
    }
    // a list longer than the places is not kept
    const count = i <= MAX_PLACES ? i : 0;
    if (!sameKeys || count !== this.count) {
      this.finder = undefined;
      this.finderLooked = false;
    }
    this.count = count;
    this.writer = w;
    this.generation = w.generation;
    this.from = start;
  }
}

const finders = new ChangeFinders();

/** Lists of attributes kept: spans of several kinds (HTTP server and client, Redis, SQL) come interleaved. */
const KINDS_KEPT = 4;

/**
 * The last lists written of a few key sequences: a list is written over the
 * one with its keys, the one used last tried first, or pair by pair in place
 * of the one kept longest (after a list whose keys differ, a try costs its
 * keys' comparison up to the first that differs).
 */
export class RecentAttributes {
  private readonly lists = Array.from({ length: KINDS_KEPT }, () => new PreviousAttributes());
  /** the list used last */
  private last = 0;
  /** the list a new key sequence replaces next */
  private oldest = 0;

  write(w: ProtoWriter, attrs: Attributes, writePair: PairWriter): void {
    const lists = this.lists;
    for (let k = 0; k < KINDS_KEPT; k++) {
      const at = (this.last + k) % KINDS_KEPT;
      if (lists[at].writeOver(w, attrs, writePair)) {
        this.last = at;
        return;
      }
    }
    lists[this.oldest].writeAll(w, attrs, writePair);
    this.last = this.oldest;
    this.oldest = (this.oldest + 1) % KINDS_KEPT;
  }
}

/** Writes the pending numbers over the bytes copied for them; returns 0: none left. */
function overwriteNumbers(w: ProtoWriter, at: Int32Array, values: Float64Array, n: number): 0 {
  for (let k = 0; k < n; k++) w.overwriteVarint(at[k], values[k]);
  return 0;
}
