/**
 * MySQL packets built to the protocol documentation (dev.mysql.com "Client/Server
 * Protocol"), for the MySQL 8 behaviour Debian's MariaDB cannot show: query
 * attributes, zstd, and the handshakes that negotiate them.
 */
import { deflateSync } from 'node:zlib';
import { Cap } from '../../processors/parse/mysql/parser';

export function packet(seq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(body.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, body]);
}

export const lenencInt = (n: number): Buffer => {
  if (n < 0xfb) return Buffer.from([n]);
  const b = Buffer.alloc(3);
  b[0] = 0xfc;
  b.writeUInt16LE(n, 1);
  return b;
};
export const lenencStr = (s: string | Buffer): Buffer => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([lenencInt(b.length), b]);
};

export const PLUGIN_AUTH = 0x80000;
export const CONNECT_ATTRS = 0x100000;
/** What a MySQL 8.0.23+ client and server both announce (zlib and zstd compression left to each test). */
export const MYSQL8_CAPS =
  0x1 | 0x4 | Cap.CONNECT_WITH_DB | Cap.PROTOCOL_41 | 0x2000 | Cap.SECURE_CONNECTION | 0x10000 | 0x20000 | PLUGIN_AUTH | Cap.PLUGIN_AUTH_LENENC_DATA | Cap.DEPRECATE_EOF | Cap.QUERY_ATTRIBUTES;

/** The server's protocol-10 greeting. */
export function greeting(caps: number, version = '8.0.36'): Buffer {
  const low = Buffer.alloc(2);
  low.writeUInt16LE(caps & 0xffff);
  const high = Buffer.alloc(2);
  high.writeUInt16LE(caps >>> 16);
  return packet(
    0,
    Buffer.concat([Buffer.from([10]), Buffer.from(version + '\0'), Buffer.from([7, 0, 0, 0]), Buffer.alloc(8, 0x41), Buffer.from([0]), low, Buffer.from([0xff]), Buffer.from([2, 0]), high, Buffer.from([21]), Buffer.alloc(10), Buffer.alloc(12, 0x42), Buffer.from([0]), Buffer.from('caching_sha2_password\0')]),
  );
}

/** The client's handshake response (protocol 41) with a user, a 32-byte auth response and a database. */
export function handshakeResponse(caps: number, database?: string, auth = Buffer.alloc(32, 0x5a)): Buffer {
  const h = Buffer.alloc(32);
  h.writeUInt32LE(caps >>> 0, 0);
  h.writeUInt32LE(1 << 24, 4);
  h[8] = 255;
  const parts = [h, Buffer.from('app\0'), caps & Cap.PLUGIN_AUTH_LENENC_DATA ? lenencStr(auth) : Buffer.concat([Buffer.from([auth.length]), auth])];
  if (database !== undefined && caps & Cap.CONNECT_WITH_DB) parts.push(Buffer.from(database + '\0'));
  if (caps & PLUGIN_AUTH) parts.push(Buffer.from('caching_sha2_password\0'));
  if (caps & Cap.ZSTD_COMPRESSION_ALGORITHM) parts.push(Buffer.from([3]));
  return packet(1, Buffer.concat(parts));
}

export const ok = (seq = 1, affected = 0, status = 2): Buffer => packet(seq, Buffer.from([0x00, affected, 0, status & 0xff, status >> 8, 0, 0]));
/** The OK (0xfe header) that ends rows when CLIENT_DEPRECATE_EOF is on. */
export const okEof = (seq: number, status = 2): Buffer => packet(seq, Buffer.from([0xfe, 0, 0, status & 0xff, status >> 8, 0, 0]));
export const eof = (seq: number, status = 2): Buffer => packet(seq, Buffer.from([0xfe, 0, 0, status & 0xff, status >> 8]));
export const err = (seq: number, code: number, state: string, msg: string): Buffer => {
  const b = Buffer.alloc(3);
  b[0] = 0xff;
  b.writeUInt16LE(code, 1);
  return packet(seq, Buffer.concat([b, Buffer.from('#' + state + msg)]));
};
export const column = (seq: number, name: string): Buffer =>
  packet(seq, Buffer.concat([lenencStr('def'), lenencStr(''), lenencStr('t'), lenencStr('t'), lenencStr(name), lenencStr(name), Buffer.from([0x0c, 33, 0, 0, 0, 1, 253, 0, 0, 0, 0, 0])]));
export const row = (seq: number, ...vals: string[]): Buffer => packet(seq, Buffer.concat(vals.map((v) => lenencStr(v))));

/** A text result set; `deprecateEof`: no EOF after the column definitions, an OK (0xfe) at the end. */
export function resultSet(cols: string[], rows: string[][], deprecateEof: boolean, more = false): Buffer {
  let seq = 1;
  const parts = [packet(seq++, lenencInt(cols.length))];
  for (const c of cols) parts.push(column(seq++, c));
  if (!deprecateEof) parts.push(eof(seq++));
  for (const r of rows) parts.push(row(seq++, ...r));
  const status = more ? 0x0a : 2;
  parts.push(deprecateEof ? okEof(seq++, status) : eof(seq++, status));
  return Buffer.concat(parts);
}

/** COM_STMT_PREPARE's reply: statement id, its parameter and column definitions, with or without EOF packets. */
export function prepareOk(id: number, params: number, cols: number, deprecateEof: boolean): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(id, 1);
  head.writeUInt16LE(cols, 5);
  head.writeUInt16LE(params, 7);
  let seq = 1;
  const parts = [packet(seq++, head)];
  for (let i = 0; i < params; i++) parts.push(column(seq++, '?'));
  if (params && !deprecateEof) parts.push(eof(seq++));
  for (let i = 0; i < cols; i++) parts.push(column(seq++, `c${i}`));
  if (cols && !deprecateEof) parts.push(eof(seq++));
  return Buffer.concat(parts);
}

export const command = (cmd: number, body: Buffer | string = Buffer.alloc(0)): Buffer => packet(0, Buffer.concat([Buffer.from([cmd]), Buffer.isBuffer(body) ? body : Buffer.from(body)]));
export const query = (sql: string): Buffer => command(0x03, sql);

/** A query attribute: name, and a value of field type `type` already in binary-protocol form (undefined: NULL). */
export interface Attribute {
  name: string;
  type: number;
  value?: Buffer;
}
export const stringAttribute = (name: string, value: string): Attribute => ({ name, type: 253, value: lenencStr(value) });
export const longAttribute = (name: string, value: number): Attribute => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(value));
  return { name, type: 8, value: b };
};

/** Null bitmap, new-params-bind flag, type and name per parameter, values. */
function parameterBlock(attrs: Attribute[], named: boolean): Buffer {
  if (!attrs.length) return Buffer.alloc(0);
  const nulls = Buffer.alloc((attrs.length + 7) >> 3);
  attrs.forEach((a, i) => {
    if (a.value === undefined) nulls[i >> 3] |= 1 << (i & 7);
  });
  const types = attrs.map((a) => Buffer.concat([Buffer.from([a.type, 0]), named ? lenencStr(a.name) : Buffer.alloc(0)]));
  return Buffer.concat([nulls, Buffer.from([1]), ...types, ...attrs.map((a) => a.value ?? Buffer.alloc(0))]);
}

/** COM_QUERY as sent when CLIENT_QUERY_ATTRIBUTES was negotiated. */
export function attributedQuery(sql: string, attrs: Attribute[] = []): Buffer {
  return command(0x03, Buffer.concat([lenencInt(attrs.length), lenencInt(1), parameterBlock(attrs, true), Buffer.from(sql)]));
}

/** COM_STMT_EXECUTE with CLIENT_QUERY_ATTRIBUTES: the statement's parameters (no names) then the attributes; `flags` 0x08 = PARAMETER_COUNT_AVAILABLE. */
export function attributedExecute(id: number, params: Attribute[], attrs: Attribute[], flags = 0x08): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt32LE(id, 0);
  head[4] = flags;
  head.writeUInt32LE(1, 5);
  const all = [...params.map((p) => ({ ...p, name: '' })), ...attrs];
  return command(0x17, Buffer.concat([head, lenencInt(all.length), parameterBlock(all, true)]));
}

/**
 * The compressed protocol: `payload` (MySQL packets, or a piece of one) in one
 * compressed packet; deflated unless `raw` (then sent as it is, length before
 * compression 0, as clients do for short payloads).
 */
export function compressed(seq: number, payload: Buffer, raw = false): Buffer {
  const body = raw ? payload : deflateSync(payload);
  const h = Buffer.alloc(7);
  h.writeUIntLE(body.length, 0, 3);
  h[3] = seq;
  h.writeUIntLE(raw ? 0 : payload.length, 4, 3);
  return Buffer.concat([h, body]);
}
