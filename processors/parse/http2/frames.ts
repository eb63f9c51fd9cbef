/**
 * HTTP/2 framing (RFC 9113) over Uint8Array: the connection preface, frame
 * headers, the header block fragments of HEADERS / PUSH_PROMISE /
 * CONTINUATION with their padding and priority fields removed, and the checks
 * that recognise HTTP/2 in bytes whose start may not have been seen.
 */

export const FRAME_HEADER_LENGTH = 9;

export const DATA = 0;
export const HEADERS = 1;
export const PRIORITY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PUSH_PROMISE = 5;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

export const SETTINGS_HEADER_TABLE_SIZE = 1;

/** "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": what a client sends first. */
export const PREFACE = Uint8Array.from(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));

/** 1: the preface is at `at`; 0: the bytes there could still become it (too few yet); -1: they are something else. */
export function prefaceAt(buf: Uint8Array, at: number, end: number): 1 | 0 | -1 {
  const n = Math.min(end - at, PREFACE.length);
  for (let i = 0; i < n; i++) if (buf[at + i] !== PREFACE[i]) return -1;
  return n === PREFACE.length ? 1 : 0;
}

export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

/** Reads the 9-byte frame header at `at` into `into` (the caller has checked 9 bytes are there). */
export function readFrameHeader(buf: Uint8Array, at: number, into: FrameHeader): FrameHeader {
  into.length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
  into.type = buf[at + 3];
  into.flags = buf[at + 4];
  into.streamId = readUint31(buf, at + 5);
  return into;
}

export function readUint31(buf: Uint8Array, at: number): number {
  return ((buf[at] & 0x7f) * 0x1000000) + ((buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]);
}

export function readUint32(buf: Uint8Array, at: number): number {
  return (buf[at] * 0x1000000) + ((buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]);
}

/**
 * The header block fragment of a HEADERS (or PUSH_PROMISE, after its promised
 * stream id) frame whose payload is buf[payload, payload + length): [start, end],
 * or undefined when padding or the fixed fields do not fit.
 */
export function fragmentOf(buf: Uint8Array, payload: number, h: FrameHeader): [number, number] | undefined {
  let start = payload;
  let end = payload + h.length;
  if (h.type !== CONTINUATION && h.flags & FLAG_PADDED) {
    if (h.length < 1) return undefined;
    end -= buf[start];
    start++;
  }
  if (h.type === HEADERS && h.flags & FLAG_PRIORITY) start += 5;
  if (h.type === PUSH_PROMISE) start += 4;
  return start <= end ? [start, end] : undefined;
}

/** RFC 9113 section 7. */
const ERROR_CODES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/** An error code's name; unknown codes (extensions) as `_OTHER`. */
export function errorCodeName(code: number): string {
  return ERROR_CODES[code] ?? '_OTHER';
}

/** The default SETTINGS_MAX_FRAME_SIZE, and the largest non-DATA frame a check takes for plausible. */
const PLAUSIBLE_FRAME_LENGTH = 16384;

const scratch: FrameHeader = { length: 0, type: 0, flags: 0, streamId: 0 };

/** Whether a frame header of the known types is well formed by itself (lengths the type fixes, stream 0 or not). */
export function plausibleFrame(h: FrameHeader): boolean {
  switch (h.type) {
    case DATA:
      return h.streamId !== 0 && (h.flags & ~(FLAG_END_STREAM | FLAG_PADDED)) === 0;
    case HEADERS:
      return h.streamId !== 0 && h.length <= PLAUSIBLE_FRAME_LENGTH && (h.flags & ~(FLAG_END_STREAM | FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY)) === 0;
    case PRIORITY:
      return h.streamId !== 0 && h.length === 5 && h.flags === 0;
    case RST_STREAM:
      return h.streamId !== 0 && h.length === 4 && h.flags === 0;
    case SETTINGS:
      return h.streamId === 0 && h.length % 6 === 0 && h.length <= 120 && (h.flags & ~FLAG_ACK) === 0 && (h.flags === 0 || h.length === 0);
    case PUSH_PROMISE:
      return h.streamId !== 0 && h.length >= 4 && h.length <= PLAUSIBLE_FRAME_LENGTH && (h.flags & ~(FLAG_END_HEADERS | FLAG_PADDED)) === 0;
    case PING:
      return h.streamId === 0 && h.length === 8 && (h.flags & ~FLAG_ACK) === 0;
    case GOAWAY:
      return h.streamId === 0 && h.length >= 8 && h.length <= PLAUSIBLE_FRAME_LENGTH && h.flags === 0;
    case WINDOW_UPDATE:
      return h.length === 4 && h.flags === 0;
    case CONTINUATION:
      return h.streamId !== 0 && h.length <= PLAUSIBLE_FRAME_LENGTH && (h.flags & ~FLAG_END_HEADERS) === 0;
    default:
      return false;
  }
}

/**
 * Whether the bytes at `at` are HTTP/2 frames: every frame header up to `end`
 * is plausible and the frames end exactly at `end` (a last DATA frame may run
 * past it). Used to get back in step after lost bytes.
 */
export function looksLikeFrames(buf: Uint8Array, at: number, end: number): boolean {
  if (end - at < FRAME_HEADER_LENGTH) return false;
  while (at + FRAME_HEADER_LENGTH <= end) {
    const h = readFrameHeader(buf, at, scratch);
    if (!plausibleFrame(h)) return false;
    const next = at + FRAME_HEADER_LENGTH + h.length;
    if (next > end) return h.type === DATA;
    at = next;
  }
  return at === end;
}

/**
 * Recognises HTTP/2 in the first bytes of a direction: 'request' for the
 * client preface (or its first 5 bytes or more) or request header blocks, 'response' for a server's first
 * SETTINGS or response header blocks, undefined when not HTTP/2 or not yet
 * telling. Header blocks are told apart by their first field, which HTTP/2
 * requires to be a pseudo-header (static indices 1–7 are request ones, 8–14
 * `:status`).
 */
export function detectHttp2(buf: Uint8Array, start: number, end: number): 'request' | 'response' | undefined {
  // "PRI *" already says it: no HTTP/1 method is PRI, and a preface written in pieces must not be set aside
  if (end - start >= 5 && prefaceAt(buf, start, end) >= 0) return 'request';
  if (!looksLikeFrames(buf, start, end)) return undefined;
  let at = start;
  while (at + FRAME_HEADER_LENGTH <= end) {
    const h = readFrameHeader(buf, at, scratch);
    const payload = at + FRAME_HEADER_LENGTH;
    // a server's connection preface: SETTINGS first (the client's comes after its preface)
    if (at === start && h.type === SETTINGS && h.flags === 0) return 'response';
    if (h.type === HEADERS && payload + h.length <= end) {
      const f = fragmentOf(buf, payload, h);
      if (f) {
        const side = firstFieldSide(buf, f[0], f[1]);
        if (side) return side;
      }
    }
    at = payload + h.length;
  }
  return undefined;
}

/** Which side sent a header block, from the static index of its first field's name. */
function firstFieldSide(buf: Uint8Array, at: number, end: number): 'request' | 'response' | undefined {
  while (at < end && (buf[at] & 0xe0) === 0x20) {
    // skip dynamic table size updates
    if ((buf[at] & 0x1f) === 0x1f) return undefined;
    at++;
  }
  if (at >= end) return undefined;
  const b = buf[at];
  const index = b & 128 ? b & 0x7f : (b & 0xc0) === 0x40 ? b & 0x3f : (b & 0xe0) === 0 ? b & 0x0f : 0;
  if (index >= 1 && index <= 7) return 'request';
  if (index >= 8 && index <= 14) return 'response';
  return undefined;
}
