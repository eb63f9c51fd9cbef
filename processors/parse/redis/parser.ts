/**
 * RESP2/RESP3 tokens, as pure functions of bytes. A token is one type-prefixed
 * line (`*3`, `$5`, `+OK`, `-ERR ...`, `:1`, RESP3 `%`, `~`, `>`, `|`, `_`,
 * `#`, `,`, `(`, `=`, `!`), with the data of a blob type when it is all there;
 * a blob too large to wait for is framed by its length and skipped.
 */
import { INVALID, NEED_MORE, findCrlf, latin1, utf8 } from '../decoder';

export const T_ARRAY = 42; // *
export const T_MAP = 37; // %
export const T_SET = 126; // ~
export const T_PUSH = 62; // >
export const T_ATTRIBUTE = 124; // |
export const T_BULK = 36; // $
export const T_VERBATIM = 61; // =
export const T_BLOB_ERROR = 33; // !
export const T_SIMPLE = 43; // +
export const T_ERROR = 45; // -
export const T_INTEGER = 58; // :
export const T_NULL = 95; // _
export const T_BOOLEAN = 35; // #
export const T_DOUBLE = 44; // ,
export const T_BIGNUM = 40; // (

const AGGREGATES = new Set([T_ARRAY, T_MAP, T_SET, T_PUSH, T_ATTRIBUTE]);
const BLOBS = new Set([T_BULK, T_VERBATIM, T_BLOB_ERROR]);
const LINES = new Set([T_SIMPLE, T_ERROR, T_INTEGER, T_NULL, T_BOOLEAN, T_DOUBLE, T_BIGNUM]);

/** Longest line espan waits for before calling the stream out of step. */
export const MAX_LINE = 65536;
/** Blobs at most this long are waited for; longer ones are skipped by length. */
export const MAX_WAITED_BLOB = 4096;

export interface Token {
  type: number;
  /** bytes taken (present) */
  len: number;
  /** blob bytes (with the final CRLF) skipped unseen */
  skip: number;
  /** elements that follow an aggregate (maps and attributes count keys and values); -1 for null */
  count: number;
  /** text of a line type, or blob data when present: offsets into the buffer */
  dataStart: number;
  dataEnd: number;
}

function parseInteger(buf: Uint8Array, s: number, e: number): number | undefined {
  let neg = false;
  if (s < e && buf[s] === 45) {
    neg = true;
    s++;
  }
  if (s >= e || e - s > 15) return undefined;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return neg ? -n : n;
}

function token(into: Token | undefined, type: number, len: number, skip: number, count: number, dataStart: number, dataEnd: number): Token {
  if (!into) return { type, len, skip, count, dataStart, dataEnd };
  into.type = type;
  into.len = len;
  into.skip = skip;
  into.count = count;
  into.dataStart = dataStart;
  into.dataEnd = dataEnd;
  return into;
}

/** Decodes the token at `at`, into `into` when given (a session reuses one: tokens are read before the next is decoded). */
export function parseToken(buf: Uint8Array, at: number, end: number, into?: Token): Token | typeof NEED_MORE | typeof INVALID {
  if (at >= end) return NEED_MORE;
  const type = buf[at];
  const isAggregate = AGGREGATES.has(type);
  const isBlob = BLOBS.has(type);
  if (!isAggregate && !isBlob && !LINES.has(type)) return INVALID;
  const cr = findCrlf(buf, at + 1, Math.min(end, at + MAX_LINE));
  if (cr < 0) {
    if (end - at >= MAX_LINE) return INVALID;
    // A length line is a few digits: anything else there means we are not in step.
    if (isAggregate || isBlob) {
      for (let i = at + 1; i < end; i++) {
        const c = buf[i];
        if (!((c >= 48 && c <= 57) || c === 45 || (c === 13 && i === end - 1))) return INVALID;
      }
    }
    return NEED_MORE;
  }
  const lineLen = cr + 2 - at;
  if (LINES.has(type)) {
    if (type === T_NULL && cr !== at + 1) return INVALID;
    if (type === T_INTEGER && parseInteger(buf, at + 1, cr) === undefined) return INVALID;
    return token(into, type, lineLen, 0, 0, at + 1, cr);
  }
  const n = parseInteger(buf, at + 1, cr);
  if (n === undefined || n < -1 || n > 0x7fffffff) return INVALID;
  if (isAggregate) {
    const count = n < 0 ? -1 : type === T_MAP || type === T_ATTRIBUTE ? 2 * n : n;
    return token(into, type, lineLen, 0, count, cr, cr);
  }
  if (n < 0) return token(into, type, lineLen, 0, -1, cr, cr);
  const dataStart = cr + 2;
  const whole = lineLen + n + 2;
  if (at + whole <= end) {
    if (buf[dataStart + n] !== 13 || buf[dataStart + n + 1] !== 10) return INVALID;
    return token(into, type, whole, 0, 0, dataStart, dataStart + n);
  }
  if (n + 2 > MAX_WAITED_BLOB) return token(into, type, lineLen, n + 2, 0, dataStart, dataStart);
  return NEED_MORE;
}

export function isAggregate(type: number): boolean {
  return AGGREGATES.has(type);
}

export function tokenText(buf: Uint8Array, t: Token, max = 256): string {
  const e = Math.min(t.dataEnd, t.dataStart + max);
  return t.type === T_BULK || t.type === T_VERBATIM ? utf8(buf, t.dataStart, e) : latin1(buf, t.dataStart, e);
}

/** Upper-case ASCII of a short token (command names). */
export function upperText(buf: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e && i < s + 64; i++) {
    const c = buf[i];
    out += String.fromCharCode(c >= 97 && c <= 122 ? c - 32 : c);
  }
  return out;
}

/** Redis commands whose first argument names a subcommand (`CLIENT SETNAME`). */
export const CONTAINER_COMMANDS = new Set([
  'ACL', 'CLIENT', 'CLUSTER', 'COMMAND', 'CONFIG', 'DEBUG', 'FUNCTION', 'LATENCY', 'MEMORY', 'MODULE', 'OBJECT', 'PUBSUB', 'SCRIPT', 'SLOWLOG', 'XGROUP', 'XINFO',
]);

/** Inline commands espan recognises (redis-cli and telnet users send these). */
const INLINE_COMMANDS = new Set(['PING', 'INFO', 'QUIT', 'SET', 'GET', 'DEL', 'SELECT', 'AUTH', 'HELLO', 'ECHO', 'EXISTS', 'KEYS', 'INCR', 'DECR', 'MULTI', 'EXEC', 'DISCARD', 'FLUSHDB', 'FLUSHALL', 'DBSIZE', 'MONITOR', 'SUBSCRIBE', 'PUBLISH', 'LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'HGET', 'HSET', 'EXPIRE', 'TTL', 'TYPE', 'CLIENT', 'CONFIG', 'COMMAND']);

/** An inline command: a line of words. Returns the line length (with its newline) and the words' bounds. */
export function parseInline(buf: Uint8Array, at: number, end: number): { len: number; words: Array<[number, number]> } | typeof NEED_MORE | typeof INVALID {
  const nl = buf.indexOf(10, at);
  if (nl < 0 || nl >= end) {
    if (end - at > MAX_LINE) return INVALID;
    for (let i = at; i < end; i++) if (buf[i] < 9 || (buf[i] > 13 && buf[i] < 32) || buf[i] === 127) return INVALID;
    return NEED_MORE;
  }
  const lineEnd = nl > at && buf[nl - 1] === 13 ? nl - 1 : nl;
  const words: Array<[number, number]> = [];
  let i = at;
  while (i < lineEnd) {
    while (i < lineEnd && (buf[i] === 32 || buf[i] === 9)) i++;
    const s = i;
    while (i < lineEnd && buf[i] !== 32 && buf[i] !== 9) {
      if (buf[i] < 32 || buf[i] === 127) return INVALID;
      i++;
    }
    if (i > s) words.push([s, i]);
  }
  return { len: nl + 1 - at, words };
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Does a request start here: an array of bulk strings whose first is a word, or a known inline command? */
export function looksLikeRequest(buf: Uint8Array, at: number, end: number): boolean {
  if (at >= end) return false;
  if (buf[at] === T_ARRAY) {
    const t = parseToken(buf, at, end);
    if (t === NEED_MORE || t === INVALID || t.count < 1) return false;
    const b = at + t.len;
    if (b >= end || buf[b] !== T_BULK) return false;
    const cr = findCrlf(buf, b, Math.min(end, b + 12));
    return cr > b + 1 && cr + 2 < end && isAlpha(buf[cr + 2]);
  }
  if (!isAlpha(buf[at])) return false;
  let i = at;
  while (i < end && i - at < 12 && isAlpha(buf[i])) i++;
  if (i >= end || !(buf[i] === 32 || buf[i] === 13 || buf[i] === 10)) return false;
  return INLINE_COMMANDS.has(upperText(buf, at, i));
}

/** Can a reply start here? */
export function looksLikeReply(buf: Uint8Array, at: number, end: number): boolean {
  const t = parseToken(buf, at, end);
  return t !== NEED_MORE && t !== INVALID;
}
