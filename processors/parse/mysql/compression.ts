/**
 * The MySQL compressed protocol (CLIENT_COMPRESS, zlib): after the handshake
 * each direction is a series of compressed packets, a 7-byte header (payload
 * length, compressed sequence id, length before compression: 0 when the
 * payload was sent as it is) and a deflated payload. The payloads joined are
 * the ordinary packet stream: one compressed packet may hold several MySQL
 * packets, and one MySQL packet may span several compressed packets.
 */
import { constants, inflateSync } from 'node:zlib';
import { looksLikeCommand, looksLikeResponseStart, packetLength } from './parser';

export const COMPRESSED_HEADER = 7;

/** Bytes a compressed payload may inflate to; more is counted and the stream dropped out of step. */
export const MAX_DECOMPRESSED = 1 << 20;

/** Bytes of an unfinished MySQL packet held across compressed packets. */
const MAX_HELD = 1 << 16;

const EMPTY = new Uint8Array(0);

/** Length before compression, from the header at `at` (0: the payload is not compressed). */
export function uncompressedLength(buf: Uint8Array, at: number): number {
  return buf[at + 4] | (buf[at + 5] << 8) | (buf[at + 6] << 16);
}

/**
 * Payload of a whole compressed packet at `at`, inflated (or copied, when sent
 * as it is): bytes of its own; undefined when it does not inflate to the length
 * its header gives.
 */
export function inflatePacket(buf: Uint8Array, at: number): Uint8Array | 'oversize' | undefined {
  const length = packetLength(buf, at);
  const payload = buf.subarray(at + COMPRESSED_HEADER, at + COMPRESSED_HEADER + length);
  const expected = uncompressedLength(buf, at);
  if (expected === 0) return new Uint8Array(payload);
  if (expected > MAX_DECOMPRESSED) return 'oversize';
  try {
    const out = inflateSync(payload, { maxOutputLength: expected });
    return out.length === expected ? out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The start of the payload of a compressed packet at `at` of which only
 * buf[at, end) is here, inflated as far as those bytes go (at most
 * `maxInput` of them); undefined when the header or the zlib stream is
 * implausible.
 */
export function inflateStart(buf: Uint8Array, at: number, end: number, maxInput = Infinity): Uint8Array | undefined {
  if (end - at < COMPRESSED_HEADER + 5) return undefined;
  const length = packetLength(buf, at);
  const expected = uncompressedLength(buf, at);
  if (length < 5) return undefined;
  const s = at + COMPRESSED_HEADER;
  const stop = Math.min(end, s + length, s + maxInput);
  if (expected === 0) return new Uint8Array(buf.subarray(s, stop));
  // zlib's header: deflate with a 32 KiB window, and a check value that makes the pair a multiple of 31
  if (expected < 5 || expected > MAX_DECOMPRESSED || buf[s] !== 0x78 || ((buf[s] << 8) | buf[s + 1]) % 31 !== 0) return undefined;
  try {
    return inflateSync(buf.subarray(s, stop), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_DECOMPRESSED });
  } catch {
    return undefined;
  }
}

/** Does a compressed packet carrying a client command start here (compressed sequence 0, as every command begins)? */
export function looksLikeCompressedCommand(buf: Uint8Array, at: number, end: number): boolean {
  if (end - at < COMPRESSED_HEADER || buf[at + 3] !== 0) return false;
  // a few dozen bytes show the command
  const head = inflateStart(buf, at, end, 64);
  return head !== undefined && looksLikeCommand(head, 0, head.length);
}

/** Does a compressed packet carrying the first packet of a response start here? */
export function looksLikeCompressedResponse(buf: Uint8Array, at: number, end: number): boolean {
  const head = inflateStart(buf, at, end, 64);
  return head !== undefined && looksLikeResponseStart(head, 0, head.length);
}

/**
 * One direction's packets after inflation: what is left of the MySQL packet
 * stream once the units decoded so far are taken, and how many bytes of a
 * packet's body still go unread (they may span compressed packets).
 */
export class InflatedStream {
  private buf: Uint8Array = EMPTY;
  at = 0;
  /** bytes of a body still to discard */
  skip = 0;
  /** the compressed packet at the stream's position is inflated and its units are being handed out */
  serving = false;
  /** bytes of that compressed packet, header included */
  packetLength = 0;

  get bytes(): Uint8Array {
    return this.buf;
  }

  get end(): number {
    return this.buf.length;
  }

  /** Appends an inflated payload (kept, not copied) after what is left, skipping body bytes first. */
  append(payload: Uint8Array): void {
    let from = 0;
    if (this.skip > 0) {
      from = Math.min(this.skip, payload.length);
      this.skip -= from;
    }
    const left = this.buf.length - this.at;
    if (left === 0) {
      this.buf = payload.subarray(from);
    } else {
      const joined = new Uint8Array(left + payload.length - from);
      joined.set(this.buf.subarray(this.at), 0);
      joined.set(payload.subarray(from), left);
      this.buf = joined;
    }
    this.at = 0;
  }

  /** A whole compressed packet of `packetLength` bytes was inflated to `payload`: its units are handed out next. */
  serve(payload: Uint8Array, packetLength: number): void {
    this.append(payload);
    this.serving = true;
    this.packetLength = packetLength;
  }

  /** Takes `len` bytes of the unit at `at` and discards `skip` more, as far as they are here. */
  take(len: number, skip: number): void {
    this.at += len;
    const here = Math.min(skip, this.buf.length - this.at);
    this.at += here;
    this.skip = skip - here;
  }

  /**
   * The compressed packet's units are all handed out: keeps only the start of
   * an unfinished packet (a copy: a payload may be up to MAX_DECOMPRESSED),
   * false when that is more than any packet waited for whole.
   */
  settle(): boolean {
    const left = this.buf.length - this.at;
    if (left > MAX_HELD) return false;
    this.buf = left === 0 ? EMPTY : new Uint8Array(this.buf.subarray(this.at));
    this.at = 0;
    this.serving = false;
    return true;
  }

  reset(): void {
    this.buf = EMPTY;
    this.at = 0;
    this.skip = 0;
    this.serving = false;
    this.packetLength = 0;
  }
}
