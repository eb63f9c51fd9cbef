/**
 * The contract between stream assembly (stream.ts) and a protocol. A protocol
 * session decodes the bytes at the head of one direction of a connection one
 * framing unit at a time (an HTTP header block, a chunk, a RESP token, a MySQL
 * packet) and says how many bytes it took, how many more belong to the same
 * unit without needing to be seen (a body), and whether a message begins or
 * ends there. Bodies are skipped by count, which is what lets assembly ride
 * over bytes the probe did not capture.
 */
import type { NetworkRecord } from '../../core/signals';

/** Requests travel in one direction of a connection, responses in the other. */
export enum Dir {
  REQUEST = 0,
  RESPONSE = 1,
}

/** Not enough bytes yet to decode the next unit. */
export const NEED_MORE = -1;
/** The bytes cannot be this protocol here: the stream is out of step. */
export const INVALID = -2;

export interface Step {
  /** bytes taken from the buffer; all of them were present */
  len: number;
  /** bytes after those that belong to the unit and are discarded unseen; Infinity: until close */
  skip: number;
  /** a message begins at the first byte taken; `value` holds what was parsed of it */
  begins: boolean;
  /** the current message is complete once `skip` bytes are gone */
  ends: boolean;
  value?: unknown;
}

export type StepResult = Step | typeof NEED_MORE | typeof INVALID;

export interface ProtocolSession {
  /** the Step returned is only valid until the next decode (see step()) */
  decode(dir: Dir, buf: Uint8Array, at: number, end: number): StepResult;
  /** may a message start at `at`? used to get back in step after lost bytes */
  canStart(dir: Dir, buf: Uint8Array, at: number, end: number): boolean;
  /**
   * A message of `dir` is complete (or cut short when `truncated`): `start`
   * carried its first byte, whose TCP sequence number is `startSeq`, and
   * `last` its last byte.
   */
  complete(dir: Dir, value: unknown, start: NetworkRecord, startSeq: number, last: NetworkRecord, truncated: boolean): void;
  /**
   * The bytes of an unfinished unit are all there will be (the rest was not
   * captured): what can be made of them as the start of a message, or
   * undefined. The message is then completed as truncated.
   */
  decodePartial?(dir: Dir, buf: Uint8Array, at: number, end: number): unknown;
  /** the stream lost its framing: drop any partial decoder state of `dir` */
  reset(dir: Dir): void;
  /** the connection closed or timed out: complete what can be completed, report the rest */
  close(last: NetworkRecord | undefined): void;
  /**
   * Starts over, as a new session of the same side, holding nothing of its
   * last connection: the engine keeps released sessions that can, and takes
   * them again for new connections of their protocol and side (absent: a
   * session is made per connection).
   */
  restart?(): void;
  /** true once the connection stopped speaking this protocol (an HTTP upgrade, TLS) */
  readonly abandoned?: boolean;
  /**
   * Every request gets exactly one response, in order (HTTP/1.x): after a
   * mid-stream start or lost framing, stream assembly then hands messages
   * over only once the directions line up again (alignment.ts), and a reset
   * of the response direction gives up the requests waiting.
   */
  readonly answersInOrder?: boolean;
}

/** The one Step every session returns, rewritten by each call of step(). */
const shared: Step = { len: 0, skip: 0, begins: false, ends: false, value: undefined };

/**
 * A decode's result. Stream assembly reads it before it asks any session for
 * the next, so one object serves them all instead of one per framing unit.
 */
export function step(len: number, skip: number, begins: boolean, ends: boolean, value?: unknown): Step {
  shared.len = len;
  shared.skip = skip;
  shared.begins = begins;
  shared.ends = ends;
  shared.value = value;
  return shared;
}

/**
 * Node's own decoders of a byte range, called on any Uint8Array (a record's
 * payload, a join's scratch buffer): no Buffer view is made per string. Node
 * has had them on Buffer.prototype all along (core/otlp reads with them too).
 */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Uint8Array, start: number, end: number): string }).utf8Slice;

/** Below this many bytes a loop in JavaScript makes the string faster than a call into Node. */
const SHORT_TEXT = 8;

/** Latin-1 text of buf[start, end): header values and names are ASCII on the wire. */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  if (end > buf.length) end = buf.length;
  if (end - start < SHORT_TEXT) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
    return s;
  }
  return latin1Slice.call(buf, start, end);
}

/** Texts up to this many bytes are kept to be handed out again by recentLatin1. */
const RECENT_MAX = 128;
/** A power of two: slots of recentLatin1's table. */
const RECENT_SLOTS = 1024;
const recentTexts: string[] = new Array<string>(RECENT_SLOTS).fill('');

/**
 * latin1() of a text that repeats from message to message (a Host header, a
 * User-Agent, a request target): the string made last for the same bytes is
 * handed out again, so such a text is made once instead of per message, and
 * later stages hash it once. The table is direct-mapped by a hash of the
 * bytes; a slot keeps the last text that hashed there.
 */
export function recentLatin1(buf: Uint8Array, start: number, end: number): string {
  if (end > buf.length) end = buf.length;
  const n = end - start;
  if (n <= 0 || n > RECENT_MAX) return latin1(buf, start, end);
  let h = n;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  const slot = (h ^ (h >>> 16)) & (RECENT_SLOTS - 1);
  const kept = recentTexts[slot];
  if (kept.length === n) {
    let i = 0;
    while (i < n && kept.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return kept;
  }
  return (recentTexts[slot] = latin1(buf, start, end));
}

/** UTF-8 text of buf[start, end): SQL and Redis arguments. */
export function utf8(buf: Uint8Array, start: number, end: number): string {
  if (end > buf.length) end = buf.length;
  return end > start ? utf8Slice.call(buf, start, end) : '';
}

/**
 * Index of the first `byte` in buf[at, end), or -1. A loop: a header line is
 * a few dozen bytes, fewer than the call of TypedArray#indexOf costs (and a
 * search four bytes at a time through a DataView of the buffer lost more in
 * getting the view than it saved). Four bytes a step: a quarter fewer
 * instructions than one, the loop's test paid once per four.
 */
export function indexOfByte(buf: Uint8Array, byte: number, at: number, end: number): number {
  let i = at;
  for (; i + 4 <= end; i += 4) {
    if (buf[i] === byte) return i;
    if (buf[i + 1] === byte) return i + 1;
    if (buf[i + 2] === byte) return i + 2;
    if (buf[i + 3] === byte) return i + 3;
  }
  for (; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

/** Index of the "\r\n" at or after `at`, or -1. */
export function findCrlf(buf: Uint8Array, at: number, end: number): number {
  for (let i = at; i < end - 1; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10) return i;
  }
  return -1;
}
