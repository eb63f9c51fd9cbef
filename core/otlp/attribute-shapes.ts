/**
 * Attribute objects for spans read from OTLP, built as object literals of a
 * known shape. V8 builds a 23-property literal in ~50 ns on these machines;
 * adding the same properties one by one to `{}` turns the object into a hash
 * table (dictionary mode) after a dozen, costs ~2 µs, and makes every later
 * read, freeze and for-in of it slower too.
 *
 * Keys are interned by their bytes (no string made per key per span), and a
 * span's sequence of key ids picks a literal builder compiled once for it.
 * Both tables are bounded: past them, attributes are built the plain way.
 */
import { compileAttributesLiteral, type AttributesLiteral } from '../attribute-literal';
import type { AttributeValue, Attributes } from '../signals';

/** key ids are below this */
export const MAX_KEYS = 4096;
const MAX_KEY_BYTES = 64;
const MAX_SHAPES = 1024;

/** Key names by their UTF-8 bytes; a key is identified by a small number. */
export class KeyTable {
  /** key id by the hash of its bytes */
  private readonly byHash = new Map<number, number>();
  private readonly names: string[] = [];
  private readonly bytes: Uint8Array[] = [];

  /**
   * The id of the key in buf[start, end), or -1 when it is not (and will not
   * be) interned. `guess` is a likely id (the key at this place in the
   * previous span): checking it costs a byte comparison, not a hash.
   */
  intern(buf: Buffer, start: number, end: number, guess = -1): number {
    const n = end - start;
    if (n > MAX_KEY_BYTES) return -1;
    if (guess >= 0 && this.same(guess, buf, start, n)) return guess;
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    h = (h ^ n) >>> 0;
    const known = this.byHash.get(h);
    // a collision leaves the newcomer uninterned
    if (known !== undefined) return this.same(known, buf, start, n) ? known : -1;
    if (this.names.length >= MAX_KEYS) return -1;
    const name = buf.toString('utf8', start, end);
    // a key that is not UTF-8 reads as U+FFFD: not worth a special case, it stays uninterned
    if (name.includes('\ufffd')) return -1;
    const id = this.names.length;
    this.names.push(name);
    this.bytes.push(new Uint8Array(buf.subarray(start, end)));
    this.byHash.set(h, id);
    return id;
  }

  private same(id: number, buf: Buffer, start: number, n: number): boolean {
    const b = this.bytes[id];
    if (b.length !== n) return false;
    for (let i = 0; i < n; i++) if (b[i] !== buf[start + i]) return false;
    return true;
  }

  name(id: number): string {
    return this.names[id];
  }
}

interface Shape {
  ids: number[];
  build: AttributesLiteral;
}

/** Literal builders by key sequence. */
export class ShapeTable {
  private readonly byHash = new Map<number, Shape>();

  constructor(private readonly keys: KeyTable) {}

  /** The attributes object for keys `ids[0..n)` and their values, or undefined past the table's bounds. */
  build(ids: readonly number[], values: AttributeValue[], n: number): Attributes | undefined {
    let h = n;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ ids[i], 0x9e3779b1) + 0x7f4a7c15;
    h >>>= 0;
    let shape = this.byHash.get(h);
    if (shape) {
      const known = shape.ids;
      if (known.length !== n) return undefined;
      for (let i = 0; i < n; i++) if (known[i] !== ids[i]) return undefined;
    } else {
      if (this.byHash.size >= MAX_SHAPES) return undefined;
      const build = compileAttributesLiteral(ids.slice(0, n).map((id) => this.keys.name(id)));
      if (!build) return undefined;
      shape = { ids: ids.slice(0, n), build };
      this.byHash.set(h, shape);
    }
    return shape.build(values);
  }
}
