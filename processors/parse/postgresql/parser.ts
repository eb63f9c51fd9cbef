/**
 * PostgreSQL frontend/backend protocol 3.0, as pure functions of bytes: the
 * untyped packets that open a connection (StartupMessage, SSLRequest,
 * GSSENCRequest, CancelRequest), the typed message header (a type byte and a
 * length that counts itself), and the few bodies espan reads: the startup
 * parameters `database` and `user` (never a password: authentication
 * messages are not read at all), Query and Parse texts, the statement and
 * portal names of Bind/Describe/Close/Execute, CommandComplete tags and the
 * SQLSTATE and message of an ErrorResponse.
 */
import { indexOfByte, latin1, utf8 } from '../decoder';

export const PROTOCOL_3_0 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** Startup packets are small: a few parameters. */
const MAX_STARTUP = 10000;

/** Byte values, looked up by index: a Set of numbers hashed the type byte of every message. */
class ByteSet {
  private readonly members = new Uint8Array(256);

  constructor(chars: string) {
    for (let i = 0; i < chars.length; i++) this.members[chars.charCodeAt(i)] = 1;
  }

  has(byte: number): boolean {
    return this.members[byte] === 1;
  }
}

/** Message types a client sends once started (PasswordMessage, SASL and GSS responses all share `p`). */
export const FRONTEND_TYPES = new ByteSet('QPBDESCHFXdcfp');
/** Message types a server sends. */
export const BACKEND_TYPES = new ByteSet('RSKZTDCEINAGHWdcv123tns');

export const Msg = {
  // both directions
  COPY_DATA: 0x64, // d
  COPY_DONE: 0x63, // c
  // frontend
  QUERY: 0x51, // Q
  PARSE: 0x50, // P
  BIND: 0x42, // B
  DESCRIBE: 0x44, // D (frontend)
  EXECUTE: 0x45, // E (frontend)
  SYNC: 0x53, // S (frontend)
  CLOSE: 0x43, // C (frontend)
  FLUSH: 0x48, // H (frontend)
  FUNCTION_CALL: 0x46, // F
  TERMINATE: 0x58, // X
  COPY_FAIL: 0x66, // f
  PASSWORD: 0x70, // p
  // backend
  AUTHENTICATION: 0x52, // R
  PARAMETER_STATUS: 0x53, // S (backend)
  BACKEND_KEY_DATA: 0x4b, // K
  READY_FOR_QUERY: 0x5a, // Z
  ROW_DESCRIPTION: 0x54, // T
  DATA_ROW: 0x44, // D (backend)
  COMMAND_COMPLETE: 0x43, // C (backend)
  ERROR_RESPONSE: 0x45, // E (backend)
  EMPTY_QUERY: 0x49, // I
  NOTICE: 0x4e, // N
  NOTIFICATION: 0x41, // A
  COPY_IN: 0x47, // G
  COPY_OUT: 0x48, // H (backend)
  COPY_BOTH: 0x57, // W
  NEGOTIATE_VERSION: 0x76, // v
  PARSE_COMPLETE: 0x31, // 1
  BIND_COMPLETE: 0x32, // 2
  CLOSE_COMPLETE: 0x33, // 3
  PARAMETER_DESCRIPTION: 0x74, // t
  NO_DATA: 0x6e, // n
  PORTAL_SUSPENDED: 0x73, // s
  FUNCTION_CALL_RESPONSE: 0x56, // V
} as const;

export function i32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

/** The length field of the typed message at `at` (it counts itself, not the type byte). */
export function messageLength(buf: Uint8Array, at: number): number {
  return i32(buf, at + 1);
}

/** Index of the NUL ending the C string at `at`, or -1 before `end`. */
export function cstringEnd(buf: Uint8Array, at: number, end: number): number {
  return indexOfByte(buf, 0, at, Math.min(end, buf.length));
}

/** The request code of an untyped packet at `at` (length, then code), when its length fits one. */
export function untypedCode(buf: Uint8Array, at: number, end: number): number | undefined {
  if (end - at < 8) return undefined;
  const length = i32(buf, at);
  const code = i32(buf, at + 4);
  if (code === SSL_REQUEST || code === GSSENC_REQUEST) return length === 8 ? code : undefined;
  if (code === CANCEL_REQUEST) return length === 16 ? code : undefined;
  if (code === PROTOCOL_3_0) return length > 8 && length <= MAX_STARTUP ? code : undefined;
  return undefined;
}

/** A StartupMessage, SSLRequest or GSSENCRequest: how a client opens a connection. */
export function looksLikeStartup(buf: Uint8Array, at: number, end: number): boolean {
  const code = untypedCode(buf, at, end);
  if (code === SSL_REQUEST || code === GSSENC_REQUEST) return end - at === 8;
  if (code !== PROTOCOL_3_0) return false;
  // parameters are printable names: the first is usually `user`
  const z = cstringEnd(buf, at + 8, Math.min(end, at + 72));
  if (z <= at + 8) return false;
  for (let i = at + 8; i < z; i++) if (buf[i] < 33 || buf[i] > 126) return false;
  return true;
}

export interface StartupParameters {
  database?: string;
  user?: string;
}

/** The `database` and `user` parameters of a StartupMessage body [s, e); the others are passed over. */
export function parseStartupParameters(buf: Uint8Array, s: number, e: number): StartupParameters {
  const p: StartupParameters = {};
  let at = s;
  while (at < e && buf[at] !== 0) {
    const nameEnd = cstringEnd(buf, at, e);
    if (nameEnd < 0) break;
    const valueEnd = cstringEnd(buf, nameEnd + 1, e);
    if (valueEnd < 0) break;
    const name = latin1(buf, at, nameEnd);
    if (name === 'database' && valueEnd > nameEnd + 1) p.database = utf8(buf, nameEnd + 1, Math.min(valueEnd, nameEnd + 1 + 256));
    else if (name === 'user' && valueEnd > nameEnd + 1) p.user = utf8(buf, nameEnd + 1, Math.min(valueEnd, nameEnd + 1 + 256));
    at = valueEnd + 1;
  }
  return p;
}

/** Could SQL text start with this byte (a letter, a parenthesis, a comment, whitespace)? */
function sqlStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 40 || c === 47 || c === 45 || c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * A Query or Parse message at `at`, as a connection seen after its start
 * shows them: a plausible length and SQL text where it belongs, ending in NUL
 * when the whole message is there. Other frontend messages say too little.
 */
export function looksLikeFrontendQuery(buf: Uint8Array, at: number, end: number): boolean {
  if (end - at < 7) return false;
  const type = buf[at];
  const length = messageLength(buf, at);
  if (length < 6 || length > 1 << 30) return false;
  const whole = at + 1 + length;
  if (whole <= end && buf[whole - 1] !== 0) return false;
  let text = at + 5;
  if (type === Msg.PARSE) {
    const z = cstringEnd(buf, text, Math.min(end, whole, text + 64));
    if (z < 0) return false;
    for (let i = text; i < z; i++) if (buf[i] < 33 || buf[i] > 126) return false;
    text = z + 1;
  } else if (type !== Msg.QUERY) return false;
  if (text >= end || !sqlStart(buf[text])) return false;
  // text up to its NUL (or the first bytes of a long one) with no control characters
  const stop = Math.min(end, whole, text + 32);
  for (let i = text; i < stop && buf[i] !== 0; i++) if (buf[i] < 9 || (buf[i] > 13 && buf[i] < 32)) return false;
  return true;
}

/** The most columns a table (so a row) can have. */
const MAX_COLUMNS = 1664;

/**
 * A backend message that can begin the answer to a group, checked as far as
 * its fixed layout allows: where a response direction out of step (joined
 * mid-stream, bytes lost) takes up again. A simple query's answer begins with
 * RowDescription, CommandComplete, EmptyQueryResponse, ErrorResponse,
 * NoticeResponse, CopyIn/CopyOutResponse or (no statement) ReadyForQuery; an
 * extended group's with ParseComplete, BindComplete, CloseComplete,
 * ParameterDescription, RowDescription or NoData, an Execute's with
 * CommandComplete, EmptyQueryResponse or ErrorResponse, and a Sync's with
 * ReadyForQuery. DataRow is left out: it also fills every read inside a
 * result, whose start was passed over.
 */
export function looksLikeAnswerStart(buf: Uint8Array, at: number, end: number): boolean {
  if (end - at < 5) return false;
  const length = messageLength(buf, at);
  const first = end - at > 5 ? buf[at + 5] : -1;
  switch (buf[at]) {
    case Msg.READY_FOR_QUERY:
      // transaction status: idle, in a transaction, failed transaction
      return length === 5 && (first === 0x49 || first === 0x54 || first === 0x45);
    case Msg.PARSE_COMPLETE:
    case Msg.BIND_COMPLETE:
    case Msg.CLOSE_COMPLETE:
    case Msg.NO_DATA:
    case Msg.EMPTY_QUERY:
      return length === 4;
    case Msg.COMMAND_COMPLETE:
      // a tag: an upper-case command name
      return length > 4 && length < 64 && first >= 65 && first <= 90;
    case Msg.ERROR_RESPONSE:
    case Msg.NOTICE:
      // fields (a few hundred bytes), the severity first
      return length > 5 && length <= 1 << 20 && first === 0x53;
    case Msg.ROW_DESCRIPTION: {
      // a count of fields, each a name (NUL-ended, at most 63 bytes) and 18 bytes
      if (end - at < 7) return false;
      const fields = (buf[at + 5] << 8) | buf[at + 6];
      return fields <= MAX_COLUMNS && length >= 6 + 19 * fields && length <= 6 + 82 * fields;
    }
    case Msg.PARAMETER_DESCRIPTION:
      // a count of parameters, each a type OID
      return end - at >= 7 && length === 6 + 4 * ((buf[at + 5] << 8) | buf[at + 6]);
    case Msg.COPY_IN:
    case Msg.COPY_OUT:
      // the overall format (text or binary), then a format code per column
      return end - at >= 8 && (first === 0 || first === 1) && length === 7 + 2 * ((buf[at + 6] << 8) | buf[at + 7]);
    default:
      return false;
  }
}

export interface CommandTag {
  /** the command, without its counts: `INSERT`, `CREATE TABLE` */
  command: string;
  /** the row count the tag ends with, for the commands that have one */
  rows?: number;
}

const TAGS_WITH_ROWS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'SELECT', 'FETCH', 'MOVE', 'COPY']);

/** Tags read, by text: they repeat from query to query (as the same string: recentLatin1). Cleared when full. */
const commandTags = new Map<string, CommandTag>();
const MAX_COMMAND_TAGS = 256;

/**
 * A CommandComplete tag: `INSERT 0 5` → INSERT, 5; `SELECT 3` → SELECT, 3;
 * `CREATE TABLE` → CREATE TABLE. The answer may be shared: never to be changed.
 */
export function parseCommandTag(tag: string): CommandTag {
  let t = commandTags.get(tag);
  if (t === undefined) {
    if (commandTags.size >= MAX_COMMAND_TAGS) commandTags.clear();
    commandTags.set(tag, (t = readCommandTag(tag)));
  }
  return t;
}

function readCommandTag(tag: string): CommandTag {
  const space = tag.indexOf(' ');
  if (space > 0) {
    const command = tag.slice(0, space);
    if (TAGS_WITH_ROWS.has(command)) {
      const rows = Number(tag.slice(tag.lastIndexOf(' ') + 1));
      if (Number.isSafeInteger(rows) && rows >= 0) return { command, rows };
    }
  }
  return { command: tag };
}

export interface ErrorFields {
  /** SQLSTATE, five characters (`42P01`) */
  sqlState?: string;
  /** ERROR, FATAL, PANIC (the non-localised severity when sent) */
  severity?: string;
  message?: string;
}

/** The fields of an ErrorResponse body [s, e) that espan keeps: code, severity and primary message (details can quote values and are not read). */
export function parseErrorFields(buf: Uint8Array, s: number, e: number): ErrorFields {
  const f: ErrorFields = {};
  let at = s;
  while (at < e && buf[at] !== 0) {
    const code = buf[at];
    const z = cstringEnd(buf, at + 1, e);
    const valueEnd = z < 0 ? e : z;
    if (code === 0x43 /* C */ && valueEnd - at - 1 === 5) f.sqlState = latin1(buf, at + 1, valueEnd);
    else if (code === 0x56 /* V */ || (code === 0x53 /* S */ && f.severity === undefined)) f.severity = latin1(buf, at + 1, Math.min(valueEnd, at + 17));
    else if (code === 0x4d /* M */) f.message = utf8(buf, at + 1, Math.min(valueEnd, at + 1 + 1024));
    if (z < 0) break;
    at = z + 1;
  }
  return f;
}
