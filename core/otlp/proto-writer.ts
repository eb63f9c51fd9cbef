/**
 * A protobuf wire-format writer into one growable buffer. Nested messages are
 * written in one pass: `begin` reserves a guess of the length's varint width,
 * `end` writes the length and moves the body only when the guess was wrong
 * (a copyWithin of that one message), so there is no sizing pass and no tree
 * of intermediate objects, as protobufjs' fork/ldelim builds.
 *
 * Output is canonical proto3 except where the caller writes defaults on
 * purpose (oneof members, messages whose presence means something).
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

export const tagOf = {
  varint: (field: number) => (field << 3) | WIRE_VARINT,
  fixed64: (field: number) => (field << 3) | WIRE_FIXED64,
  len: (field: number) => (field << 3) | WIRE_LEN,
  fixed32: (field: number) => (field << 3) | WIRE_FIXED32,
};

/** Bytes a varint of an unsigned 32-bit value takes. */
function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes the varint of a non-negative safe integer takes. */
export function varintWidth(v: number): number {
  if (v < 0x10000000) return varint32Size(v);
  // 2^28..2^35: random 32-bit sequence numbers and ids, compared without a division
  if (v < 0x800000000) return 5;
  let n = 5;
  for (v = Math.floor(v / 0x800000000); v > 0; v = Math.floor(v / 128)) n++;
  return n;
}

/** Writes the varint of a non-negative safe integer into buf at p; returns where it ends. */
function putVarint53(buf: Uint8Array, p: number, v: number): number {
  // above 2^32 bit operations would wrap (below, & keeps the low bits and >>> takes it as unsigned): arithmetic until the rest fits
  while (v > 0xffffffff) {
    buf[p++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  while (v > 127) {
    buf[p++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/** Hex digit values by char code; -1 marks a non-hex character. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[65 + i] = 10 + i;
  HEX_VALUE[97 + i] = 10 + i;
}
/** Byte values of two hex digits by (first char code << 7 | second); -1 when either is not hex: one look-up per byte. */
const HEX_PAIR = new Int16Array(128 * 128).fill(-1);
for (let a = 0; a < 128; a++) {
  for (let b = 0; b < 128; b++) if (HEX_VALUE[a] >= 0 && HEX_VALUE[b] >= 0) HEX_PAIR[(a << 7) | b] = (HEX_VALUE[a] << 4) | HEX_VALUE[b];
}

/** The byte of the i-th pair of hex digits in `hex`, or -1 when either is not a hex digit. */
function hexPair(hex: string, i: number): number {
  const a = hex.charCodeAt(2 * i);
  const b = hex.charCodeAt(2 * i + 1);
  return (a | b) < 128 ? HEX_PAIR[(a << 7) | b] : -1;
}

const TWO_32 = 4294967296;

/** The halves splitInt64 leaves: module state, so the hot path allocates nothing. */
let lo64 = 0;
let hi64 = 0;

/** A JS number's 64-bit two's-complement halves (fractions truncated), as protobufjs' LongBits.fromNumber. */
function splitInt64(v: number): void {
  const negative = v < 0;
  if (negative) v = -v;
  let lo = v >>> 0;
  let hi = ((v - lo) / TWO_32) >>> 0;
  if (negative) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 0xffffffff) {
      lo = 0;
      if (++hi > 0xffffffff) hi = 0;
    }
  }
  lo64 = lo;
  hi64 = hi;
}
const MASK_32 = 0xffffffffn;

/** Below this length a string's UTF-8 form surely fits a one-byte length (3 bytes per UTF-16 unit at most). */
const SHORT_STRING = 42;

// KeyValue.key, KeyValue.value, AnyValue.string_value, .bool_value, .int_value (common.proto)
const KV_KEY = (1 << 3) | WIRE_LEN;
const KV_VALUE = (2 << 3) | WIRE_LEN;
const ANY_STRING = (1 << 3) | WIRE_LEN;
const ANY_BOOL = (2 << 3) | WIRE_VARINT;
const ANY_INT = (3 << 3) | WIRE_VARINT;

/** A value shortKeyValue writes: a string that surely fits a one-byte length, a boolean, a non-negative safe integer. */
function isShortValue(value: string | number | boolean): boolean {
  if (typeof value === 'string') return value.length <= SHORT_STRING;
  return typeof value === 'boolean' || (value >= 0 && value <= Number.MAX_SAFE_INTEGER && value === Math.floor(value));
}

/**
 * A key's KeyValue.key field (tag, length, bytes) for shortKeyFieldValue, or undefined when
 * the key is not short ASCII (such keys go through the general path).
 */
export function keyFieldOf(key: string): Uint8Array | undefined {
  const k = key.length;
  if (k > SHORT_STRING) return undefined;
  const field = new Uint8Array(2 + k);
  field[0] = KV_KEY;
  field[1] = k;
  for (let i = 0; i < k; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return undefined;
    field[2 + i] = c;
  }
  return field;
}

/** Output at least this long is handed out in the scratch buffer itself rather than copied. */
const HAND_OUT_BYTES = 256 * 1024;

/** A scratch buffer larger than this is dropped after use rather than kept for the next request. */
const KEEP_LIMIT = 4 * 1024 * 1024;

/**
 * Buffers given back kept for later large output (each at most KEEP_LIMIT). An
 * exporter often has a request or two in flight when the next is written, more
 * after a stall: with one spare kept, up to a fifth of an agent's requests under
 * redis-benchmark went to fresh memory, each page faulted in as first written.
 */
const MAX_SPARES = 4;

export class ProtoWriter {
  private buf: Buffer;
  private view: DataView;
  pos = 0;
  /**
   * Bytes already written keep their offsets (and appendWritten may copy them)
   * while this is unchanged; it changes when the writer is emptied and when a
   * message's body moves (its length took another width than guessed).
   */
  generation = 0;
  /** buffers finish() handed out and not given back yet: only these are taken back by recycle() */
  private readonly handedOut = new WeakSet<ArrayBuffer>();
  /** handed-out buffers given back, written into by later large output instead of fresh ones */
  private readonly spares: Buffer[] = [];

  constructor(private readonly initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(initialSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** What was written; the writer is then empty and can be reused. */
  finish(): Buffer {
    if (this.pos >= HAND_OUT_BYTES && this.pos * 2 >= this.buf.length) {
      // large, and at least half used: hand the buffer itself out rather than copying it
      // into another fresh allocation of about its size (page faults, external-memory GCs)
      const whole = this.buf.subarray(0, this.pos);
      this.handedOut.add(whole.buffer as ArrayBuffer);
      // the next request is likely of about this size: room for it now, not by doubling
      const size = Math.min(this.buf.length, KEEP_LIMIT);
      this.buf = this.takeSpare(size) ?? Buffer.allocUnsafeSlow(size);
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      this.pos = 0;
      this.generation++;
      return whole;
    }
    const out = Buffer.allocUnsafe(this.pos);
    // TypedArray#set is a plain memcpy; Buffer#copy goes through argument checks in JavaScript
    out.set(this.buf.subarray(0, this.pos));
    this.pos = 0;
    this.generation++;
    if (this.buf.length > KEEP_LIMIT) {
      this.buf = Buffer.allocUnsafeSlow(this.initialSize);
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    }
    return out;
  }

  /**
   * Gives back output that finish() handed out in its own buffer, once nothing
   * reads those bytes any more (the request was sent and answered): the next
   * large output is written into that buffer instead of a fresh allocation
   * (page faults, and external memory that pushes V8 to full collections).
   * Other bytes are ignored, as is a buffer given back twice.
   */
  recycle(bytes: Uint8Array): void {
    const ab = bytes.buffer as ArrayBuffer;
    if (!this.handedOut.delete(ab)) return;
    const spares = this.spares;
    if (spares.length < MAX_SPARES) {
      spares.push(Buffer.from(ab));
      return;
    }
    // full: this one replaces the smallest kept, if larger
    let smallest = 0;
    for (let i = 1; i < spares.length; i++) if (spares[i].length < spares[smallest].length) smallest = i;
    if (ab.byteLength > spares[smallest].length) spares[smallest] = Buffer.from(ab);
  }

  /** A spare buffer of at least `size` bytes, taken out of the spares; undefined when none is that large. */
  private takeSpare(size: number): Buffer | undefined {
    const spares = this.spares;
    for (let i = spares.length - 1; i >= 0; i--) {
      const spare = spares[i];
      if (spare.length < size) continue;
      spares[i] = spares[spares.length - 1];
      spares.pop();
      return spare;
    }
    return undefined;
  }

  /** Abandons what was written (after an exception part-way through a message). */
  reset(): void {
    this.pos = 0;
    this.generation++;
  }

  /** A tag or other value below 2^7 (tags of fields 1–15). */
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  varint32(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    v >>>= 0;
    while (v > 127) {
      buf[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** A 64-bit varint from its two 32-bit halves (unsigned). */
  varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (hi) {
      buf[pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      buf[pos++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  /** int64/int32 from a JS integer: negatives become ten-byte two's-complement varints, as protobuf wants. */
  int64Number(v: number): void {
    if (v >= 0 && v < TWO_32) return this.varint32(v);
    splitInt64(v);
    this.varint64(lo64, hi64);
  }

  /** int64 from a bigint, wrapped to 64 bits. */
  int64Bigint(v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.varint64(Number(u & MASK_32), Number(u >> 32n));
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  /** fixed64 from a bigint; negatives wrap to 64 bits. */
  fixed64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.pos, v, true);
    this.pos += 8;
  }

  /** fixed64 or sfixed64 from a JS number (negatives in two's complement, fractions truncated, as protobufjs does). */
  fixed64Number(v: number): void {
    this.ensure(8);
    splitInt64(v);
    this.view.setUint32(this.pos, lo64, true);
    this.view.setUint32(this.pos + 4, hi64, true);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** A packed repeated fixed64 field; nothing when empty. */
  packedFixed64(tag: number, values: readonly number[]): void {
    if (!values.length) return;
    this.byte(tag);
    this.varint32(values.length * 8);
    for (const v of values) this.fixed64Number(v);
  }

  /** A packed repeated double field; nothing when empty. */
  packedDouble(tag: number, values: readonly number[]): void {
    if (!values.length) return;
    this.byte(tag);
    this.varint32(values.length * 8);
    for (const v of values) this.double(v);
  }

  /**
   * A length-delimited string field, written even when empty (callers skip
   * empty ones where proto3 would). Short ASCII strings, most keys and values,
   * are copied by hand: cheaper than a call into the UTF-8 encoder.
   */
  string(tag: number, s: string): void {
    const n = s.length;
    if (n <= SHORT_STRING) {
      this.ensure(2 + 3 * n);
      const buf = this.buf;
      buf[this.pos] = tag;
      const lenAt = this.pos + 1;
      let p = lenAt + 1;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          // Buffer's encoder writes lone surrogates as U+FFFD: still valid UTF-8, which Go's protobuf insists on.
          const written = buf.write(s, lenAt + 1, 'utf8');
          buf[lenAt] = written;
          this.pos = lenAt + 1 + written;
          return;
        }
        buf[p++] = c;
      }
      buf[lenAt] = n;
      this.pos = p;
      return;
    }
    this.ensure(1 + 5 + 3 * n);
    this.buf[this.pos++] = tag;
    const reserved = varint32Size(3 * n);
    const start = this.pos + reserved;
    const written = this.buf.write(s, start, 'utf8');
    this.pos = start + written;
    this.patchLength(start - reserved, reserved, written);
  }

  /**
   * A KeyValue whose value is a string, a boolean or a non-negative safe integer,
   * when key and value are short ASCII: the common attribute, written in one go with its
   * lengths known up front. Returns false, having written nothing, otherwise.
   */
  shortKeyValue(tag: number, key: string, value: string | number | boolean): boolean {
    const k = key.length;
    if (k > SHORT_STRING || !isShortValue(value)) return false;
    this.ensure(2 * SHORT_STRING + 16);
    const buf = this.buf;
    const start = this.pos;
    buf[start] = tag;
    buf[start + 2] = KV_KEY;
    buf[start + 3] = k;
    let p = start + 4;
    for (let i = 0; i < k; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[p++] = c;
    }
    return this.endShortKeyValue(start, p, value);
  }

  /**
   * shortKeyValue with the key already encoded: `keyField` is its KeyValue.key field
   * (tag, length, bytes; keyFieldOf), copied rather than written character by character.
   */
  shortKeyFieldValue(tag: number, keyField: Uint8Array, value: string | number | boolean): boolean {
    if (!isShortValue(value)) return false;
    this.ensure(2 * SHORT_STRING + 16);
    const buf = this.buf;
    const start = this.pos;
    buf[start] = tag;
    buf.set(keyField, start + 2);
    return this.endShortKeyValue(start, start + 2 + keyField.length, value);
  }

  /** The value half of a short KeyValue whose key ends before p; false, having written nothing, for a non-ASCII string. */
  private endShortKeyValue(start: number, p: number, value: string | number | boolean): boolean {
    const buf = this.buf;
    buf[p++] = KV_VALUE;
    const anyLenAt = p++;
    if (typeof value === 'string') {
      const v = value.length;
      buf[p++] = ANY_STRING;
      buf[p++] = v;
      for (let i = 0; i < v; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) return false;
        buf[p++] = c;
      }
    } else if (typeof value === 'boolean') {
      buf[p++] = ANY_BOOL;
      buf[p++] = value ? 1 : 0;
    } else {
      buf[p++] = ANY_INT;
      p = putVarint53(buf, p, value);
    }
    buf[anyLenAt] = p - anyLenAt - 1;
    buf[start + 1] = p - start - 2;
    this.pos = p;
    return true;
  }

  /** Bytes already in wire format (whole fields, tags included), copied as they are from from[start, end). */
  raw(from: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(from.subarray(start, end), this.pos);
    this.pos += n;
  }

  /** A field of `tag` whose rest (length and body) is already in wire format: one capacity check for both. */
  tagged(tag: number, rest: Uint8Array): void {
    const n = rest.length;
    this.ensure(1 + n);
    this.buf[this.pos] = tag;
    this.buf.set(rest, this.pos + 1);
    this.pos += 1 + n;
  }

  /**
   * Bytes this writer wrote earlier, [from, to), written again at the end: a
   * copy inside the buffer, with no view made. The offsets are valid while
   * `generation` is what it was when they were taken.
   */
  appendWritten(from: number, to: number): void {
    const n = to - from;
    this.ensure(n);
    this.buf.copyWithin(this.pos, from, to);
    this.pos += n;
  }

  /** Writes the varint of a non-negative safe integer over bytes written before at `at` (as many as it takes). */
  overwriteVarint(at: number, v: number): void {
    putVarint53(this.buf, at, v);
  }

  /** Writes a byte over one written before at `at`. */
  overwriteByte(at: number, b: number): void {
    this.buf[at] = b;
  }

  /**
   * Writes the characters of `s` over bytes written before at `at`, as its
   * UTF-8 when it is ASCII; returns false, having written garbage over
   * s.length bytes, when it is not (the caller then drops those bytes).
   */
  overwriteAscii(at: number, s: string): boolean {
    const buf = this.buf;
    const view = this.view;
    const n = s.length;
    // ASCII-ness tested once at the end rather than per character: the common case pays no branch per byte;
    // four characters a store (a thread trace id, a connection key: ~30 characters each)
    let bits = 0;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const c0 = s.charCodeAt(i);
      const c1 = s.charCodeAt(i + 1);
      const c2 = s.charCodeAt(i + 2);
      const c3 = s.charCodeAt(i + 3);
      bits |= c0 | c1 | c2 | c3;
      view.setUint32(at + i, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), true);
    }
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      bits |= c;
      buf[at + i] = c;
    }
    return bits < 0x80;
  }

  /** Writes `s` as its UTF-8 when it is ASCII; returns false, having written garbage over s.length bytes, when it is not. */
  appendAscii(s: string): boolean {
    this.ensure(s.length);
    const ascii = this.overwriteAscii(this.pos, s);
    this.pos += s.length;
    return ascii;
  }

  /** Drops what was written from `pos` on (pos at most the current position). */
  truncate(pos: number): void {
    this.pos = pos;
  }

  /** Bytes already in wire format, copied as they are. */
  append(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  /** A copy (not a view: the buffer is reused) of what was written from `from` to the current position. */
  copy(from: number): Uint8Array {
    return new Uint8Array(this.buf.subarray(from, this.pos));
  }

  /** A length-delimited bytes field (written even when empty). */
  bytes(tag: number, b: Uint8Array): void {
    const n = b.length;
    this.ensure(6 + n);
    this.buf[this.pos++] = tag;
    this.varint32(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  /**
   * A bytes field from a hex string, decoded straight into the buffer. Like
   * Buffer.from(hex, 'hex'), decoding stops at the first non-hex pair.
   * An empty result is not written (proto3 default).
   */
  hexBytes(tag: number, hex: string | undefined): void {
    if (!hex) return;
    const pairs = hex.length >> 1;
    if (pairs > 127) {
      const b = Buffer.from(hex, 'hex');
      if (b.length) this.bytes(tag, b);
      return;
    }
    this.ensure(2 + pairs);
    const buf = this.buf;
    const lenAt = this.pos + 1;
    let p = lenAt + 1;
    let i = 0;
    // four bytes a store while all eight digits are hex (ids are 8 or 16 bytes)
    for (; i + 4 <= pairs; i += 4) {
      const v0 = hexPair(hex, i);
      const v1 = hexPair(hex, i + 1);
      const v2 = hexPair(hex, i + 2);
      const v3 = hexPair(hex, i + 3);
      if ((v0 | v1 | v2 | v3) < 0) break;
      this.view.setUint32(p, v0 | (v1 << 8) | (v2 << 16) | (v3 << 24), true);
      p += 4;
    }
    for (; i < pairs; i++) {
      const v = hexPair(hex, i);
      if (v < 0) break;
      buf[p++] = v;
    }
    const n = p - lenAt - 1;
    if (n === 0) return;
    buf[this.pos] = tag;
    buf[lenAt] = n;
    this.pos = p;
  }

  /**
   * Opens a nested message: writes its tag and reserves `widthGuess` bytes
   * for its length. Returns the mark that `end` takes.
   */
  begin(tag: number, widthGuess: number): number {
    this.ensure(1 + widthGuess);
    this.buf[this.pos++] = tag;
    const mark = this.pos;
    this.pos += widthGuess;
    return mark * 8 + widthGuess;
  }

  /** Closes the message `begin` opened. */
  end(mark: number): void {
    const reserved = mark & 7;
    const lenAt = (mark - reserved) / 8;
    this.patchLength(lenAt, reserved, this.pos - lenAt - reserved);
  }

  /** Writes `len` at `lenAt`, moving the `len` bytes after the reserved width when its varint needs another width. */
  private patchLength(lenAt: number, reserved: number, len: number): void {
    const width = varint32Size(len);
    if (width !== reserved) {
      const bodyAt = lenAt + reserved;
      if (width > reserved) this.ensure(width - reserved);
      this.buf.copyWithin(lenAt + width, bodyAt, bodyAt + len);
      this.pos += width - reserved;
      this.generation++;
    }
    const buf = this.buf;
    let p = lenAt;
    while (len > 127) {
      buf[p++] = (len & 127) | 128;
      len >>>= 7;
    }
    buf[p] = len;
  }
}
