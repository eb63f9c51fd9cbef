/**
 * MySQL client/server protocol packets, as pure functions of bytes: the
 * 4-byte packet header, the server greeting and client handshake response (for
 * capabilities and the database name only: auth data is never read), command
 * packets, and OK / ERR / EOF replies.
 */
import { indexOfByte, latin1, recentLatin1, utf8 } from '../decoder';

export const MAX_PACKET = 0xffffff;

export const Cmd = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  RESET_CONNECTION: 0x1f,
} as const;

export const COMMAND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Cmd).map(([k, v]) => [v, `COM_${k}`]));

/** Commands the server does not answer. */
export const NO_RESPONSE = new Set<number>([Cmd.QUIT, Cmd.STMT_CLOSE, Cmd.STMT_SEND_LONG_DATA]);

export const Cap = {
  CONNECT_WITH_DB: 0x8,
  COMPRESS: 0x20,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  SECURE_CONNECTION: 0x8000,
  PLUGIN_AUTH_LENENC_DATA: 0x200000,
  DEPRECATE_EOF: 0x1000000,
  ZSTD_COMPRESSION_ALGORITHM: 0x4000000,
  QUERY_ATTRIBUTES: 0x8000000,
} as const;

/** COM_STMT_EXECUTE flag (MySQL 8.0.26+): a parameter count is sent even when the statement has no parameters (query attributes). */
export const PARAMETER_COUNT_AVAILABLE = 0x08;

export const SERVER_MORE_RESULTS_EXISTS = 0x0008;

/** Payload length, from the 4-byte packet header at `at`. */
export function packetLength(buf: Uint8Array, at: number): number {
  return buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16);
}

/** Sequence number, the header's last byte. */
export function packetSeq(buf: Uint8Array, at: number): number {
  return buf[at + 3];
}

export function u16(buf: Uint8Array, at: number): number {
  return buf[at] | (buf[at + 1] << 8);
}

export function u32(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/** A length-encoded integer: [value, bytes used], or undefined past `end`. */
export function lenenc(buf: Uint8Array, at: number, end: number): [number, number] | undefined {
  if (at >= end) return undefined;
  const b = buf[at];
  if (b < 0xfb) return [b, 1];
  if (b === 0xfc) return at + 3 <= end ? [u16(buf, at + 1), 3] : undefined;
  if (b === 0xfd) return at + 4 <= end ? [buf[at + 1] | (buf[at + 2] << 8) | (buf[at + 3] << 16), 4] : undefined;
  if (b === 0xfe) return at + 9 <= end ? [u32(buf, at + 1) + u32(buf, at + 5) * 2 ** 32, 9] : undefined;
  return undefined;
}

/** Index of the NUL ending the C string at `at`, or -1 before `end` (searched no further: a name is a few bytes). */
function cstringEnd(buf: Uint8Array, at: number, end: number): number {
  return indexOfByte(buf, 0, at, Math.min(end, buf.length));
}

/**
 * A database name, which repeats from connection to connection: ASCII bytes
 * seen just before give the same string (recentLatin1), made once and hashed
 * once by the later stages; others their UTF-8 text.
 */
export function nameText(buf: Uint8Array, start: number, end: number): string {
  if (end > buf.length) end = buf.length;
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return utf8(buf, start, end);
  return recentLatin1(buf, start, end);
}

export interface Greeting {
  capabilities: number;
}

/** The server's first packet (protocol 10). `s`, `e`: payload bounds. */
export function parseGreeting(buf: Uint8Array, s: number, e: number): Greeting | undefined {
  if (e - s < 2 || buf[s] !== 10) return undefined;
  const z = cstringEnd(buf, s + 1, e);
  if (z < 0 || z - s > 64) return undefined;
  // thread id(4), auth data part 1 (8), filler(1), capabilities low(2), charset(1), status(2), capabilities high(2)
  const capLow = z + 1 + 4 + 8 + 1;
  if (capLow + 2 > e) return undefined;
  let capabilities = u16(buf, capLow);
  if (capLow + 7 <= e) capabilities = (capabilities | (u16(buf, capLow + 5) << 16)) >>> 0;
  return { capabilities };
}

/** Plausible greeting at `at` (a whole packet header plus protocol 10 and a version string)? */
export function looksLikeGreeting(buf: Uint8Array, at: number, end: number): boolean {
  if (end - at < 8) return false;
  const length = packetLength(buf, at);
  if (packetSeq(buf, at) !== 0 || length < 20 || length > 1024 || buf[at + 4] !== 10) return false;
  for (let i = at + 5; i < Math.min(end, at + 10); i++) if (buf[i] !== 0 && (buf[i] < 32 || buf[i] > 126)) return false;
  return parseGreeting(buf, at + 4, Math.min(end, at + 4 + length)) !== undefined;
}

export interface HandshakeResponse {
  capabilities: number;
  /** the database asked for at connect, if any */
  database?: string;
  /** the client asked for TLS: what follows is encrypted */
  ssl: boolean;
}

/** The client's handshake response (protocol 41): capabilities and database; the user and auth data are skipped unread. */
export function parseHandshakeResponse(buf: Uint8Array, s: number, e: number): HandshakeResponse | undefined {
  if (e - s < 4) return undefined;
  const capabilities = u32(buf, s);
  if (!(capabilities & Cap.PROTOCOL_41)) return { capabilities, ssl: false };
  if (e - s === 32) return { capabilities, ssl: (capabilities & Cap.SSL) !== 0 };
  let at = s + 32; // capabilities, max packet, charset, 23 reserved
  const userEnd = cstringEnd(buf, at, e);
  if (userEnd < 0) return { capabilities, ssl: false };
  at = userEnd + 1;
  if (capabilities & Cap.PLUGIN_AUTH_LENENC_DATA) {
    const l = lenenc(buf, at, e);
    if (!l) return { capabilities, ssl: false };
    at += l[1] + l[0];
  } else if (capabilities & Cap.SECURE_CONNECTION) {
    at += 1 + buf[at];
  } else {
    const z = cstringEnd(buf, at, e);
    if (z < 0) return { capabilities, ssl: false };
    at = z + 1;
  }
  const r: HandshakeResponse = { capabilities, ssl: false };
  if (capabilities & Cap.CONNECT_WITH_DB && at < e) {
    const z = cstringEnd(buf, at, e);
    const dbEnd = z < 0 ? e : z;
    if (dbEnd > at) r.database = nameText(buf, at, Math.min(dbEnd, at + 256));
  }
  return r;
}

export interface OkPacket {
  affectedRows: number;
  status: number;
}

/** OK (0x00) or OK-as-EOF (0xfe) payload. */
export function parseOk(buf: Uint8Array, s: number, e: number): OkPacket | undefined {
  const a = lenenc(buf, s + 1, e);
  if (!a) return undefined;
  const id = lenenc(buf, s + 1 + a[1], e);
  if (!id) return undefined;
  const st = s + 1 + a[1] + id[1];
  return { affectedRows: a[0], status: st + 2 <= e ? u16(buf, st) : 0 };
}

/** Status flags of a classic EOF packet (0xfe, warnings, status). */
export function eofStatus(buf: Uint8Array, s: number, e: number): number {
  return s + 5 <= e ? u16(buf, s + 3) : 0;
}

export interface ErrPacket {
  code: number;
  sqlState?: string;
  message: string;
}

export function parseErr(buf: Uint8Array, s: number, e: number): ErrPacket | undefined {
  if (e - s < 3 || buf[s] !== 0xff) return undefined;
  const code = u16(buf, s + 1);
  let at = s + 3;
  let sqlState: string | undefined;
  if (at < e && buf[at] === 35 && at + 6 <= e) {
    sqlState = latin1(buf, at + 1, at + 6);
    at += 6;
  }
  return { code, sqlState, message: utf8(buf, at, Math.min(e, at + 512)) };
}

export interface PrepareOk {
  statementId: number;
  columns: number;
  params: number;
}

export function parsePrepareOk(buf: Uint8Array, s: number, e: number): PrepareOk | undefined {
  if (e - s < 9 || buf[s] !== 0) return undefined;
  return { statementId: u32(buf, s + 1), columns: u16(buf, s + 5), params: u16(buf, s + 7) };
}

/** Does SQL text start at `at`: a letter, a parenthesis, a comment or whitespace? */
export function looksLikeSqlStart(buf: Uint8Array, at: number, end: number): boolean {
  if (at >= end) return false;
  const c = buf[at];
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 40 || c === 47 || c === 32 || c === 10 || c === 13 || c === 9 || c === 45 || c === 35;
}

/** Query attribute names kept per command, and characters kept per name. */
const MAX_ATTRIBUTE_NAMES = 32;
const MAX_ATTRIBUTE_NAME = 64;
const NO_NAMES: readonly string[] = Object.freeze([]);

export interface ParameterBlock {
  /** the names sent with the parameters (query attributes; a prepared statement's own parameters have none) */
  names: readonly string[];
  /** offset just past the block: where a COM_QUERY's text begins */
  end: number;
}

/** Bytes a binary-protocol value of field type `type` takes at `at`, or -1 when cut or of a type that cannot be sized. */
function binaryValueLength(type: number, buf: Uint8Array, at: number, end: number): number {
  switch (type) {
    case 6: // NULL
      return 0;
    case 1: // TINY
      return 1;
    case 2: // SHORT
    case 13: // YEAR
      return 2;
    case 3: // LONG
    case 4: // FLOAT
    case 9: // INT24
      return 4;
    case 5: // DOUBLE
    case 8: // LONGLONG
      return 8;
    case 7: // TIMESTAMP
    case 10: // DATE
    case 11: // TIME
    case 12: // DATETIME
    case 14: // NEWDATE
    case 17: // TIMESTAMP2
    case 18: // DATETIME2
    case 19: // TIME2
      return at < end ? 1 + buf[at] : -1;
  }
  // DECIMAL, VARCHAR, BIT and the string, blob, JSON and geometry types: a length-encoded string
  if (type === 0 || type === 15 || type === 16 || type >= 245) {
    const l = lenenc(buf, at, end);
    return l ? l[1] + l[0] : -1;
  }
  return -1;
}

/**
 * The parameters of a COM_QUERY (its query attributes) or a COM_STMT_EXECUTE,
 * after their count: null bitmap, new-params-bind flag, a type (and, `named`,
 * a name) per parameter, then the values. Values are stepped over, never read:
 * attributes may carry secrets.
 */
export function readParameters(buf: Uint8Array, at: number, end: number, count: number, named: boolean): ParameterBlock | undefined {
  const nulls = at;
  at += (count + 7) >> 3;
  // without the bind flag the types are those of the previous execution, unknown here
  if (at >= end || buf[at] !== 1 || at + 1 + 2 * count > end) return undefined;
  at++;
  const types = new Array<number>(count);
  let names = NO_NAMES as string[];
  for (let i = 0; i < count; i++) {
    if (at + 2 > end) return undefined;
    types[i] = buf[at]; // the second byte holds flags (unsigned)
    at += 2;
    if (!named) continue;
    const l = lenenc(buf, at, end);
    if (!l || at + l[1] + l[0] > end) return undefined;
    if (l[0] > 0 && names.length < MAX_ATTRIBUTE_NAMES) {
      if (names === NO_NAMES) names = [];
      names.push(utf8(buf, at + l[1], at + l[1] + Math.min(l[0], MAX_ATTRIBUTE_NAME)));
    }
    at += l[1] + l[0];
  }
  for (let i = 0; i < count; i++) {
    if (buf[nulls + (i >> 3)] & (1 << (i & 7))) continue;
    const n = binaryValueLength(types[i], buf, at, end);
    if (n < 0 || at + n > end) return undefined;
    at += n;
  }
  return { names, end: at };
}

/**
 * A COM_QUERY sent with CLIENT_QUERY_ATTRIBUTES (`s`: just after the command
 * byte): parameter count, parameter-set count (always 1), the attributes;
 * the query text follows. Undefined when the prefix does not parse.
 */
export function readQueryAttributes(buf: Uint8Array, s: number, e: number): ParameterBlock | undefined {
  const count = lenenc(buf, s, e);
  if (!count) return undefined;
  let at = s + count[1];
  const sets = lenenc(buf, at, e);
  if (!sets || sets[0] !== 1) return undefined;
  at += sets[1];
  if (count[0] === 0) return { names: NO_NAMES, end: at };
  return count[0] > 0xffff ? undefined : readParameters(buf, at, e, count[0], true);
}

/**
 * A COM_QUERY body (`s`: just after the command byte) that is a query-attribute
 * prefix followed by SQL: how a client speaks when CLIENT_QUERY_ATTRIBUTES was
 * negotiated. Plain SQL never starts this way (a count, then the byte 0x01).
 */
export function looksLikeAttributedQuery(buf: Uint8Array, s: number, e: number): ParameterBlock | undefined {
  if (s + 2 > e || buf[s + 1] !== 1) return undefined;
  const block = readQueryAttributes(buf, s, e);
  return block && looksLikeSqlStart(buf, block.end, e) ? block : undefined;
}

/** Could the first packet of a response start here (sequence 1: OK, ERR, EOF, a column count, a LOCAL INFILE request)? */
export function looksLikeResponseStart(buf: Uint8Array, at: number, end: number): boolean {
  if (end - at < 5 || packetSeq(buf, at) !== 1) return false;
  const length = packetLength(buf, at);
  const first = buf[at + 4];
  if (first === 0x00) return length >= 7 && length <= 16384;
  if (first === 0xff) return length >= 3 && length <= 4096 && (end - at < 7 || u16(buf, at + 5) >= 1000);
  if (first === 0xfe) return length === 5;
  if (first === 0xfb) return length >= 2;
  // a column count: one byte (MariaDB may add its metadata flag byte), or 0xfc and two
  if (first === 0xfc) return length === 3 || length === 4;
  return first > 0 && first < 0xfb && (length === 1 || length === 2);
}

/** COM_CHANGE_USER (`s`: just after the command byte): the database it names; the user and auth data are stepped over unread. */
export function readChangeUserDatabase(buf: Uint8Array, s: number, e: number, capabilities: number): { database?: string } | undefined {
  const userEnd = cstringEnd(buf, s, e);
  if (userEnd < 0) return undefined;
  let at = userEnd + 1;
  if (capabilities & Cap.SECURE_CONNECTION) {
    if (at >= e) return undefined;
    at += 1 + buf[at];
  } else {
    const z = cstringEnd(buf, at, e);
    if (z < 0) return undefined;
    at = z + 1;
  }
  const dbEnd = cstringEnd(buf, at, e);
  if (dbEnd < 0) return undefined;
  return dbEnd > at ? { database: nameText(buf, at, Math.min(dbEnd, at + 256)) } : {};
}

/** Does a command packet from the client start here (sequence 0, a known command, a length that fits; a short command the whole of the bytes)? */
export function looksLikeCommand(buf: Uint8Array, at: number, end: number): boolean {
  if (end - at < 5) return false;
  const length = packetLength(buf, at);
  if (packetSeq(buf, at) !== 0 || length < 1 || !(buf[at + 4] in COMMAND_NAMES)) return false;
  const cmd = buf[at + 4];
  if (cmd === Cmd.QUERY || cmd === Cmd.STMT_PREPARE) {
    if (length < 2 || length > 1 << 24) return false;
    if (looksLikeSqlStart(buf, at + 5, end)) return true;
    return cmd === Cmd.QUERY && looksLikeAttributedQuery(buf, at + 5, Math.min(end, at + 4 + length)) !== undefined;
  }
  // short headers alike sit inside other data (in a PostgreSQL DataRow, a column count and first length
  // read 01 00 00 00 0e, a value's last byte and the next length 37 00 00 00 02): a client sends these
  // commands alone and waits for their answer, so the packet is the whole read
  const alone = end - at === 4 + length;
  if (cmd === Cmd.PING || cmd === Cmd.QUIT || cmd === Cmd.STATISTICS || cmd === Cmd.RESET_CONNECTION) return length === 1 && alone;
  if (cmd === Cmd.STMT_EXECUTE) return length >= 10;
  if (cmd === Cmd.STMT_CLOSE || cmd === Cmd.STMT_RESET) return length === 5;
  if (cmd === Cmd.INIT_DB) return length >= 2 && length < 256 && alone;
  return false;
}
