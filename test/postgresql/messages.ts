/**
 * PostgreSQL protocol messages built to the protocol documentation, for the
 * parser's tests, the benchmark and the fuzzer.
 */
function typed(type: string, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type.charCodeAt(0);
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
}
const cstr = (s: string): Buffer => Buffer.from(s + '\0');
const i16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

export const fe = {
  startup(params: Record<string, string>): Buffer {
    const body = Buffer.concat([i32(196608), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
    return Buffer.concat([i32(body.length + 4), body]);
  },
  sslRequest: (): Buffer => Buffer.concat([i32(8), i32(80877103)]),
  password: (secret: string): Buffer => typed('p', cstr(secret)),
  query: (sql: string): Buffer => typed('Q', cstr(sql)),
  parse: (name: string, sql: string, types: number[] = []): Buffer => typed('P', Buffer.concat([cstr(name), cstr(sql), i16(types.length), ...types.map(i32)])),
  bind: (portal: string, statement: string, values: string[] = []): Buffer =>
    typed('B', Buffer.concat([cstr(portal), cstr(statement), i16(0), i16(values.length), ...values.flatMap((v) => [i32(Buffer.byteLength(v)), Buffer.from(v)]), i16(0)])),
  describe: (kind: 'S' | 'P', name: string): Buffer => typed('D', Buffer.concat([Buffer.from(kind), cstr(name)])),
  execute: (portal = '', maxRows = 0): Buffer => typed('E', Buffer.concat([cstr(portal), i32(maxRows)])),
  close: (kind: 'S' | 'P', name: string): Buffer => typed('C', Buffer.concat([Buffer.from(kind), cstr(name)])),
  sync: (): Buffer => typed('S', Buffer.alloc(0)),
  flush: (): Buffer => typed('H', Buffer.alloc(0)),
  copyData: (data: string): Buffer => typed('d', Buffer.from(data)),
  copyDone: (): Buffer => typed('c', Buffer.alloc(0)),
  copyFail: (why: string): Buffer => typed('f', cstr(why)),
  terminate: (): Buffer => typed('X', Buffer.alloc(0)),
};

export const be = {
  authOk: (): Buffer => typed('R', i32(0)),
  authMd5: (salt: Buffer): Buffer => typed('R', Buffer.concat([i32(5), salt])),
  parameterStatus: (k: string, v: string): Buffer => typed('S', Buffer.concat([cstr(k), cstr(v)])),
  backendKey: (pid: number, key: number): Buffer => typed('K', Buffer.concat([i32(pid), i32(key)])),
  ready: (status: 'I' | 'T' | 'E' = 'I'): Buffer => typed('Z', Buffer.from(status)),
  rowDescription: (...cols: string[]): Buffer => typed('T', Buffer.concat([i16(cols.length), ...cols.map((c) => Buffer.concat([cstr(c), i32(0), i16(0), i32(25), i16(-1), i32(-1), i16(0)]))])),
  dataRow: (...vals: string[]): Buffer => typed('D', Buffer.concat([i16(vals.length), ...vals.flatMap((v) => [i32(Buffer.byteLength(v)), Buffer.from(v)])])),
  commandComplete: (tag: string): Buffer => typed('C', cstr(tag)),
  error: (sqlState: string, message: string, detail?: string): Buffer =>
    typed('E', Buffer.concat([cstr('SERROR'), cstr('VERROR'), cstr('C' + sqlState), cstr('M' + message), ...(detail ? [cstr('D' + detail)] : []), Buffer.from([0])])),
  notice: (message: string): Buffer => typed('N', Buffer.concat([cstr('SNOTICE'), cstr('VNOTICE'), cstr('C00000'), cstr('M' + message), Buffer.from([0])])),
  notification: (pid: number, channel: string, payload: string): Buffer => typed('A', Buffer.concat([i32(pid), cstr(channel), cstr(payload)])),
  emptyQuery: (): Buffer => typed('I', Buffer.alloc(0)),
  parseComplete: (): Buffer => typed('1', Buffer.alloc(0)),
  bindComplete: (): Buffer => typed('2', Buffer.alloc(0)),
  closeComplete: (): Buffer => typed('3', Buffer.alloc(0)),
  parameterDescription: (...types: number[]): Buffer => typed('t', Buffer.concat([i16(types.length), ...types.map(i32)])),
  noData: (): Buffer => typed('n', Buffer.alloc(0)),
  portalSuspended: (): Buffer => typed('s', Buffer.alloc(0)),
  copyIn: (): Buffer => typed('G', Buffer.concat([Buffer.from([0]), i16(1), i16(0)])),
  copyOut: (): Buffer => typed('H', Buffer.concat([Buffer.from([0]), i16(1), i16(0)])),
  copyData: (data: string): Buffer => typed('d', Buffer.from(data)),
  copyDone: (): Buffer => typed('c', Buffer.alloc(0)),
};

/** What a server says after a StartupMessage with trust authentication. */
export function startupAnswer(): Buffer {
  return Buffer.concat([be.authOk(), be.parameterStatus('server_version', '15.14'), be.parameterStatus('client_encoding', 'UTF8'), be.backendKey(1234, 5678), be.ready()]);
}
