/**
 * HTTP/1.0 and 1.1 message heads, as pure functions of bytes. Only what espan
 * keeps is decoded (method, target, host, user agent, status, propagation
 * headers, x-request-id, body framing); other header values are never turned
 * into strings, and Authorization/Cookie are never read at all.
 */
import { INVALID, NEED_MORE, indexOfByte, latin1, recentLatin1 } from '../decoder';

/** How the body after a head is framed. */
export enum BodyKind {
  NONE = 0,
  LENGTH = 1,
  CHUNKED = 2,
  /** HTTP/1.0-style response body that ends when the connection closes */
  UNTIL_CLOSE = 3,
}

export interface HttpHead {
  /** bytes of the start line and headers, including the blank line */
  headLength: number;
  bodyKind: BodyKind;
  /** body bytes when bodyKind is LENGTH */
  contentLength: number;
  version: string;
  /** propagation headers and x-request-id, lower-case names */
  headers: Record<string, string>;
  host: string | undefined;
  userAgent: string | undefined;
  /** `Connection: close` (or HTTP/1.0 without keep-alive) */
  close: boolean;
}

export interface HttpRequestHead extends HttpHead {
  method: string;
  target: string;
}

export interface HttpResponseHead extends HttpHead {
  status: number;
}

/** The headers of a head that kept none (all responses', most requests'): shared, never written. */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A request head to parse into (parseRequestHead sets every field): one kept by a caller that reads each head before parsing the next is made once. */
export function emptyRequestHead(): HttpRequestHead {
  return { headLength: 0, bodyKind: BodyKind.NONE, contentLength: 0, version: '', headers: NO_HEADERS, host: undefined, userAgent: undefined, close: false, method: '', target: '' };
}

/** A response head to parse into, as emptyRequestHead. */
export function emptyResponseHead(): HttpResponseHead {
  return { headLength: 0, bodyKind: BodyKind.NONE, contentLength: 0, version: '', headers: NO_HEADERS, host: undefined, userAgent: undefined, close: false, status: 0 };
}

/** Sets the fields every head starts with, before its header lines are read. */
function startHead(head: HttpHead, bodyKind: BodyKind, version: string): void {
  head.headLength = 0;
  head.bodyKind = bodyKind;
  head.contentLength = 0;
  head.version = version;
  head.headers = NO_HEADERS;
  head.host = undefined;
  head.userAgent = undefined;
  head.close = false;
}

/** Largest head espan waits for; real servers refuse beyond 8–16 KiB. */
export const MAX_HEAD = 16384;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];

/** Index just past the "\r\n\r\n" that ends a head, or -1. Tolerates bare "\n\n". */
export function headEnd(buf: Uint8Array, at: number, end: number): number {
  for (let i = indexOfByte(buf, 10, at, end); i >= 0; i = indexOfByte(buf, 10, i + 1, end)) {
    if (i + 1 < end && buf[i + 1] === 10) return i + 2;
    if (i + 2 < end && buf[i + 1] === 13 && buf[i + 2] === 10) return i + 3;
  }
  return -1;
}

function isUpperAlpha(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** The method at `at` (followed by a space), as a shared constant string, or undefined. */
export function methodAt(buf: Uint8Array, at: number, end: number): string | undefined {
  // every method begins with a capital letter: the bytes of other protocols (detection asks HTTP first) are turned away at once
  if (at >= end || !isUpperAlpha(buf[at])) return undefined;
  for (let k = 0; k < METHODS.length; k++) {
    const m = METHODS[k];
    const n = m.length;
    if (at + n >= end || buf[at + n] !== 32 || buf[at] !== m.charCodeAt(0)) continue;
    let same = true;
    for (let i = 1; i < n; i++) {
      if (buf[at + i] !== m.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (same) return m;
  }
  return undefined;
}

/** True when the bytes at `at` can begin a request: a method token and a space. */
export function looksLikeRequest(buf: Uint8Array, at: number, end: number): boolean {
  return methodAt(buf, at, end) !== undefined;
}

/** True when the bytes at `at` begin a response status line ("HTTP/1."). */
export function looksLikeResponse(buf: Uint8Array, at: number, end: number): boolean {
  return (
    end - at >= 7 &&
    buf[at] === 72 && buf[at + 1] === 84 && buf[at + 2] === 84 && buf[at + 3] === 80 &&
    buf[at + 4] === 47 && buf[at + 5] === 49 && buf[at + 6] === 46
  );
}

/**
 * Stricter than looksLikeRequest, for finding a start inside bytes that may
 * be a body: the method and a space, and when the line's end is there, the
 * version at its end (a body line "GET it\r\n" is no request).
 */
export function looksLikeRequestLine(buf: Uint8Array, at: number, end: number): boolean {
  const m = methodAt(buf, at, end);
  if (m === undefined) return false;
  const nl = indexOfByte(buf, 10, at, end);
  if (nl < 0) return true;
  const le = nl > at && buf[nl - 1] === 13 ? nl - 1 : nl;
  return le - at >= m.length + 10 && buf[le - 9] === 32 && looksLikeResponse(buf, le - 8, le);
}

/** Stricter than looksLikeResponse: "HTTP/1.x" and a three-digit status ("HTTP/1.1\r\n" ends a request line). */
export function looksLikeStatusLine(buf: Uint8Array, at: number, end: number): boolean {
  if (end - at < 12 || !looksLikeResponse(buf, at, end) || buf[at + 8] !== 32) return false;
  for (let i = at + 9; i < at + 12; i++) if (buf[i] < 48 || buf[i] > 57) return false;
  return true;
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Case-insensitive compare of buf[s, e) with a lower-case ASCII name. */
function nameIs(buf: Uint8Array, s: number, e: number, name: string): boolean {
  if (e - s !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (lower(buf[s + i]) !== name.charCodeAt(i)) return false;
  return true;
}

function lowerName(buf: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) out += String.fromCharCode(lower(buf[i]));
  return out;
}

function parseDecimal(buf: Uint8Array, s: number, e: number): number {
  if (s >= e || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Where a value in buf[s, e) begins: past spaces and tabs. */
function valueStart(buf: Uint8Array, s: number, e: number): number {
  while (s < e && (buf[s] === 32 || buf[s] === 9)) s++;
  return s;
}

/** Where a value that begins at `s` ends: before the spaces, tabs and CR that end buf[s, e). */
function valueEnd(buf: Uint8Array, s: number, e: number): number {
  while (e > s && (buf[e - 1] === 32 || buf[e - 1] === 9 || buf[e - 1] === 13)) e--;
  return e;
}

/** Case-insensitive search for a lower-case word in buf[s, e). */
function containsWord(buf: Uint8Array, s: number, e: number, word: string): boolean {
  const first = word.charCodeAt(0);
  for (let i = s; i + word.length <= e; i++) {
    if (lower(buf[i]) === first && nameIs(buf, i, i + word.length, word)) return true;
  }
  return false;
}

function containsChunked(buf: Uint8Array, s: number, e: number): boolean {
  // "chunked" must be the last coding; a case-insensitive search is enough to frame.
  return containsWord(buf, s, e, 'chunked');
}

/** Index of the first ":" or "\n" in buf[at, end), or -1: where a header's name ends, unless its line does first. */
function colonOrNewline(buf: Uint8Array, at: number, end: number): number {
  for (let i = at; i < end; i++) if (buf[i] === 58 || buf[i] === 10) return i;
  return -1;
}

/**
 * Walks the header lines from `from` up to the blank line that ends the head,
 * filling `head` (its version set). Returns the index just past the blank
 * line, NEED_MORE when it is not there yet, INVALID when a line is not a
 * header.
 */
function parseHeaders(buf: Uint8Array, from: number, end: number, head: HttpHead, isRequest: boolean): number {
  let at = from;
  /** what the Connection header said (connectionToken): close, keep-alive, '' (neither), undefined (no such header) */
  let connection: string | undefined;
  for (;;) {
    if (at >= end) return NEED_MORE;
    const c0 = buf[at];
    if (c0 === 13) {
      if (at + 1 >= end) return NEED_MORE;
      if (buf[at + 1] !== 10) return INVALID;
      head.close = connectionCloses(head.version, connection);
      return at + 2;
    }
    if (c0 === 10) {
      head.close = connectionCloses(head.version, connection);
      return at + 1;
    }
    const first = c0 | 0x20;
    // Only headers starting with these letters are read; the rest cost one newline search.
    // Of a response only the framing (content-length, transfer-encoding, connection) matters.
    const wanted = first === 99 || first === 116 || (isRequest && (first === 104 || first === 117 || first === 120 || first === 98));
    // a wanted line's name is read up to its colon, and its end looked for from there
    const colon = wanted ? colonOrNewline(buf, at + 1, end) : -1;
    const nl = colon >= 0 && buf[colon] === 10 ? colon : indexOfByte(buf, 10, colon >= 0 ? colon + 1 : at, end);
    if (nl < 0) return NEED_MORE;
    if (wanted) {
      if (colon === nl) return INVALID;
      const lineEnd = buf[nl - 1] === 13 ? nl - 1 : nl;
      const len = colon - at;
      if (first === 99) {
        if (len === 14 && nameIs(buf, at, colon, 'content-length')) {
          const s = valueStart(buf, colon + 1, lineEnd);
          const n = parseDecimal(buf, s, valueEnd(buf, s, lineEnd));
          if (n < 0) return INVALID;
          head.contentLength = n;
          if (head.bodyKind !== BodyKind.CHUNKED) head.bodyKind = BodyKind.LENGTH;
        } else if (len === 10 && nameIs(buf, at, colon, 'connection')) {
          connection = connectionToken(buf, colon + 1, lineEnd);
        }
      } else if (first === 116) {
        if (len === 17 && nameIs(buf, at, colon, 'transfer-encoding')) {
          if (containsChunked(buf, colon + 1, lineEnd)) head.bodyKind = BodyKind.CHUNKED;
        } else if (!isRequest) {
          // response propagation headers are not kept
        } else if (len === 11 && nameIs(buf, at, colon, 'traceparent')) {
          keep(buf, at, colon, lineEnd, head, 'traceparent');
        } else if (len === 10 && nameIs(buf, at, colon, 'tracestate')) {
          keep(buf, at, colon, lineEnd, head, 'tracestate');
        }
      } else if (first === 104) {
        if (len === 4 && nameIs(buf, at, colon, 'host')) {
          const s = valueStart(buf, colon + 1, lineEnd);
          head.host = recentLatin1(buf, s, valueEnd(buf, s, lineEnd));
        }
      } else if (first === 117) {
        if (len === 10 && nameIs(buf, at, colon, 'user-agent')) {
          const s = valueStart(buf, colon + 1, lineEnd);
          head.userAgent = recentLatin1(buf, s, Math.min(valueEnd(buf, s, lineEnd), s + 256));
        }
      } else if (first === 120) {
        if (len === 12 && nameIs(buf, at, colon, 'x-request-id')) keep(buf, at, colon, lineEnd, head, 'x-request-id');
        else if ((len > 10 && nameIs(buf, at, at + 10, 'x-datadog-')) || (len > 5 && nameIs(buf, at, at + 5, 'x-b3-'))) keep(buf, at, colon, lineEnd, head);
      } else if (len === 2 && nameIs(buf, at, colon, 'b3')) {
        keep(buf, at, colon, lineEnd, head, 'b3');
      }
    } else if (c0 !== 32 && c0 !== 9 && (c0 < 33 || c0 > 126)) {
      // not a token character: not a header line (a folded line starts with space or tab)
      return INVALID;
    }
    at = nl + 1;
  }
}

/** What a Connection value in buf[s, e) says: 'close', 'keep-alive' or '' (neither); its usual values, alone, are compared rather than searched for. */
function connectionToken(buf: Uint8Array, s: number, e: number): string {
  const vs = valueStart(buf, s, e);
  const n = valueEnd(buf, vs, e) - vs;
  if (n === 10 && nameIs(buf, vs, vs + n, 'keep-alive')) return 'keep-alive';
  if (n === 5 && nameIs(buf, vs, vs + n, 'close')) return 'close';
  return containsWord(buf, s, e, 'close') ? 'close' : containsWord(buf, s, e, 'keep-alive') ? 'keep-alive' : '';
}

function keep(buf: Uint8Array, at: number, colon: number, lineEnd: number, head: HttpHead, known?: string): void {
  const name = known ?? lowerName(buf, at, colon);
  const s = valueStart(buf, colon + 1, lineEnd);
  const value = latin1(buf, s, Math.min(valueEnd(buf, s, lineEnd), s + 512));
  if (head.headers === NO_HEADERS) head.headers = {};
  // Repeated propagation headers join with a comma, as RFC 9110 combines field lines.
  head.headers[name] = name in head.headers ? `${head.headers[name]},${value}` : value;
}

function parseVersion(buf: Uint8Array, s: number, e: number): string | undefined {
  if (e - s !== 8 || !looksLikeResponse(buf, s, e)) return undefined;
  const minor = buf[s + 7];
  if (minor === 49) return '1.1';
  if (minor === 48) return '1.0';
  return undefined;
}

function lineEndOf(buf: Uint8Array, at: number, end: number): number {
  const nl = indexOfByte(buf, 10, at, end);
  if (nl < 0) return -1;
  return nl > at && buf[nl - 1] === 13 ? nl - 1 : nl;
}

/** Parses a request head at `at`: NEED_MORE until the blank line is there, INVALID when it is not HTTP. */
export function parseRequestHead(buf: Uint8Array, at: number, end: number, head = emptyRequestHead()): HttpRequestHead | typeof NEED_MORE | typeof INVALID {
  const method = methodAt(buf, at, Math.min(end, at + 12));
  if (method === undefined) return end - at < 12 && couldBeRequestPrefix(buf, at, end) ? NEED_MORE : INVALID;
  const le = lineEndOf(buf, at, end);
  if (le < 0) return end - at > MAX_HEAD ? INVALID : NEED_MORE;
  const sp1 = indexOfByte(buf, 32, at, le);
  const sp2 = sp1 >= 0 ? indexOfByte(buf, 32, sp1 + 1, le) : -1;
  if (sp2 < 0) return INVALID;
  const version = parseVersion(buf, sp2 + 1, le);
  if (!version) return INVALID;
  startHead(head, BodyKind.NONE, version);
  head.method = method;
  head.target = recentLatin1(buf, sp1 + 1, Math.min(sp2, sp1 + 1 + 2048));
  const stop = parseHeaders(buf, skipLine(buf, le), end, head, true);
  if (stop < 0) return stop === NEED_MORE && end - at > MAX_HEAD ? INVALID : (stop as typeof NEED_MORE);
  head.headLength = stop - at;
  return head;
}

function skipLine(buf: Uint8Array, lineEnd: number): number {
  return buf[lineEnd] === 13 ? lineEnd + 2 : lineEnd + 1;
}

/** `token`: connectionToken's verdict, undefined without a Connection header. */
function connectionCloses(version: string, token: string | undefined): boolean {
  if (token === undefined) return version === '1.0';
  if (token === 'close') return true;
  return version === '1.0' && token !== 'keep-alive';
}

function couldBeRequestPrefix(buf: Uint8Array, at: number, end: number): boolean {
  for (let i = at; i < end; i++) {
    if (buf[i] === 32) return looksLikeRequest(buf, at, end);
    if (!isUpperAlpha(buf[i])) return false;
  }
  return true;
}

/**
 * Parses a response head. `requestMethod` is the method of the request it
 * answers (HEAD responses have no body whatever they announce).
 */
export function parseResponseHead(
  buf: Uint8Array,
  at: number,
  end: number,
  requestMethod: string | undefined,
  head = emptyResponseHead(),
): HttpResponseHead | typeof NEED_MORE | typeof INVALID {
  if (end - at < 8) {
    for (let i = at; i < end; i++) if (buf[i] !== 'HTTP/1.'.charCodeAt(i - at)) return INVALID;
    return NEED_MORE;
  }
  if (!looksLikeResponse(buf, at, end)) return INVALID;
  const le = lineEndOf(buf, at, end);
  if (le < 0) return end - at > MAX_HEAD ? INVALID : NEED_MORE;
  const version = parseVersion(buf, at, at + 8);
  if (!version || buf[at + 8] !== 32 || le < at + 12) return INVALID;
  const status = parseDecimal(buf, at + 9, at + 12);
  if (status < 100 || status > 999) return INVALID;
  startHead(head, BodyKind.UNTIL_CLOSE, version);
  head.status = status;
  const stop = parseHeaders(buf, skipLine(buf, le), end, head, false);
  if (stop < 0) return stop === NEED_MORE && end - at > MAX_HEAD ? INVALID : (stop as typeof NEED_MORE);
  head.headLength = stop - at;
  if (status < 200 || status === 204 || status === 304 || requestMethod === 'HEAD') {
    head.bodyKind = BodyKind.NONE;
    head.contentLength = 0;
  } else if (requestMethod === 'CONNECT' && status < 300) {
    head.bodyKind = BodyKind.NONE;
  }
  return head;
}

export interface ChunkLine {
  /** bytes of the size line including its CRLF */
  lineLength: number;
  /** chunk data bytes (0 for the last chunk) */
  size: number;
}

/** Parses a chunk-size line ("1a;ext=1\r\n"). */
export function parseChunkLine(buf: Uint8Array, at: number, end: number): ChunkLine | typeof NEED_MORE | typeof INVALID {
  let size = 0;
  let digits = 0;
  let i = at;
  for (; i < end; i++) {
    const c = buf[i];
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else if (c >= 65 && c <= 70) v = c - 55;
    else break;
    if (++digits > 12) return INVALID;
    size = size * 16 + v;
  }
  if (i === end) return NEED_MORE;
  if (digits === 0) return INVALID;
  // chunk extensions and whitespace up to the line end
  const nl = indexOfByte(buf, 10, i, end);
  if (nl < 0) return end - at > 1024 ? INVALID : NEED_MORE;
  if (nl - i > 1024) return INVALID;
  return { lineLength: nl + 1 - at, size };
}

/**
 * After the last chunk: optional trailer fields, then a blank line. Returns
 * the bytes up to and including the blank line.
 */
export function parseTrailer(buf: Uint8Array, at: number, end: number): number | typeof NEED_MORE | typeof INVALID {
  if (at < end && buf[at] === 10) return 1;
  if (at + 1 < end && buf[at] === 13 && buf[at + 1] === 10) return 2;
  if (at < end && buf[at] !== 13) {
    const stop = headEnd(buf, at, end);
    if (stop >= 0) return stop - at;
  }
  return end - at > MAX_HEAD ? INVALID : NEED_MORE;
}

/** Splits a request target into path and query. */
export function splitTarget(target: string): { path: string; query?: string } {
  let t = target;
  if (!t.startsWith('/')) {
    // absolute-form: http://host/path?query
    const scheme = t.indexOf('://');
    if (scheme > 0) {
      const slash = t.indexOf('/', scheme + 3);
      t = slash < 0 ? '/' : t.slice(slash);
    }
  }
  const q = t.indexOf('?');
  if (q < 0) return { path: t };
  return { path: t.slice(0, q), query: t.slice(q + 1) };
}

/**
 * The start of a head whose end was not captured: the start line and the
 * header lines that are complete. Undefined when not even the start line is.
 */
export function parsePartialHead(buf: Uint8Array, at: number, end: number, isRequest: boolean, requestMethod?: string): HttpRequestHead | HttpResponseHead | undefined {
  let cut = end;
  // keep whole lines only, and close the head so the normal parser takes it
  const lastNl = buf.lastIndexOf(10, end - 1);
  if (lastNl < at) return undefined;
  cut = lastNl + 1;
  const closed = new Uint8Array(cut - at + 2);
  closed.set(buf.subarray(at, cut), 0);
  closed[closed.length - 2] = 13;
  closed[closed.length - 1] = 10;
  const h = isRequest ? parseRequestHead(closed, 0, closed.length) : parseResponseHead(closed, 0, closed.length, requestMethod);
  return h === NEED_MORE || h === INVALID ? undefined : h;
}
