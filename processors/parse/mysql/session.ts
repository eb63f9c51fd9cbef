/**
 * MySQL on one connection: passes over the handshake (learning capabilities
 * and the database, never auth data), decodes commands, follows each
 * response through its packets (OK, ERR, EOF, result sets with their column
 * definitions and rows, prepare replies, several results when the server says
 * more exist), and remembers prepared statements (id → SQL), bounded.
 *
 * What the handshake negotiates (query attributes, EOF packets, compression)
 * is learnt from it when it was seen; a connection picked up later infers
 * each from the traffic itself (see the fields below) and never takes a byte
 * it cannot place for SQL.
 */
import type { SqlSummary } from '../../../core/redaction';
import type { MysqlFields, NetworkRecord } from '../../../core/signals';
import { Dir, INVALID, NEED_MORE, step, type ProtocolSession, type StepResult } from '../decoder';
import { makeMessage, RequestQueue, type PendingRequest, type SessionOptions, type SessionSink } from '../session-base';
import { COMPRESSED_HEADER, InflatedStream, inflatePacket, inflateStart, looksLikeCompressedCommand, looksLikeCompressedResponse } from './compression';
import {
  Cap,
  Cmd,
  COMMAND_NAMES,
  MAX_PACKET,
  NO_RESPONSE,
  PARAMETER_COUNT_AVAILABLE,
  SERVER_MORE_RESULTS_EXISTS,
  eofStatus,
  lenenc,
  looksLikeAttributedQuery,
  looksLikeCommand,
  looksLikeResponseStart,
  looksLikeSqlStart,
  nameText,
  packetLength,
  packetSeq,
  parseErr,
  parseGreeting,
  parseHandshakeResponse,
  parseOk,
  parsePrepareOk,
  readChangeUserDatabase,
  readParameters,
  readQueryAttributes,
  u32,
  type ParameterBlock,
} from './parser';
import type { SqlSummaries } from './sql-summaries';

export interface MysqlOptions {
  /** keep SQL literals instead of replacing them with `?` */
  keepRawSql: boolean;
  maxSqlLength: number;
  /** prepared statements remembered per connection */
  maxStatements: number;
}

/** Packets at most this long are waited for whole; longer commands keep their first bytes. */
const MAX_WAITED_PACKET = 16384;

type Phase =
  | 'idle'
  | 'next_result'
  | 'columns'
  | 'columns_eof'
  | 'rows'
  | 'params'
  | 'params_eof'
  | 'prep_columns'
  | 'prep_columns_eof'
  /** COM_CHANGE_USER's authentication exchange, up to its OK or ERR */
  | 'auth'
  /** a prepare reply ended at its last definition, EOF packets unknown: an EOF next is that reply's, not a response */
  | 'trailing_eof';

/** How the packets travel: not known yet (the handshake was not seen), as they are, or inside compressed packets. */
type Framing = 'unknown' | 'plain' | 'compressed';

interface RequestValue {
  fields: MysqlFields;
  code: number;
  sql?: SqlSummary;
  initDb?: string;
  /** COM_CHANGE_USER: the database it names (none: no default database after it) */
  changeUser?: { database?: string };
}

interface ResponseValue {
  generation: number;
  rows?: number;
  affectedRows?: number;
  err?: { code: number; sqlState?: string; message: string };
  statementId?: number;
  params?: number;
}

interface PreparedStatement {
  sql: SqlSummary;
  /** parameters of the statement, from the prepare reply: how its executions' parameter blocks are read */
  params: number;
}

export class MysqlSession implements ProtocolSession {
  private readonly queue: RequestQueue<RequestValue>;
  // set by restart(), as every field a connection changes
  private database: string | undefined;
  private serverCaps: number | undefined;
  private clientCaps: number | undefined;
  private framing!: Framing;
  /** one inflated packet stream per direction, once compression is on */
  private inflated: [InflatedStream, InflatedStream] | undefined;
  /** CLIENT_QUERY_ATTRIBUTES: from the handshake, else from the first COM_QUERY (its prefix, or plain SQL) */
  private queryAttributes: boolean | undefined;
  /** CLIENT_DEPRECATE_EOF: from the handshake, else from the first result set (an EOF after its column definitions, or not) */
  private deprecateEof: boolean | undefined;
  /** made at the first prepare: most connections never prepare */
  private statements: Map<number, PreparedStatement> | undefined;
  /** a request completed cut short by lost bytes: the loss (see reset) was its own tail, and its response is still owed */
  private cutRequest: PendingRequest<RequestValue> | undefined;
  private requestContinues!: boolean;
  private rowContinues!: boolean;
  private phase!: Phase;
  private remaining!: number;
  private prepColumns!: number;
  private response: ResponseValue | undefined;
  /** bumped when a response is given up on, so its late completion is ignored */
  private generation!: number;
  abandoned!: boolean;

  constructor(
    private readonly role: 'client' | 'server',
    private readonly sink: SessionSink,
    opts: SessionOptions,
    private readonly mysql: MysqlOptions,
    private readonly summaries: SqlSummaries,
  ) {
    this.queue = new RequestQueue(opts.maxPendingRequests, this);
    this.restart();
  }

  restart(): void {
    this.queue.clear();
    this.database = this.serverCaps = this.clientCaps = undefined;
    this.framing = 'unknown';
    this.inflated = undefined;
    this.queryAttributes = this.deprecateEof = undefined;
    this.statements = undefined;
    this.cutRequest = undefined;
    this.requestContinues = this.rowContinues = false;
    this.phase = 'idle';
    this.remaining = this.prepColumns = 0;
    this.response = undefined;
    this.generation = 0;
    this.abandoned = false;
  }

  /** the queue was full: its oldest request is given up on */
  evicted(r: PendingRequest<RequestValue>): void {
    this.sink.count('evicted_request');
    this.emit(r, 'no_response');
  }

  decode(dir: Dir, buf: Uint8Array, at: number, end: number): StepResult {
    if (this.abandoned) return step(end - at, 0, false, false);
    if (dir === Dir.REQUEST) {
      // request bytes after a cut command: a loss from here on is not its tail
      this.cutRequest = undefined;
      // picked up after the handshake: the first command tells whether it travels compressed
      if (this.framing === 'unknown') {
        if (looksLikeCommand(buf, at, end)) this.framing = 'plain';
        else if (looksLikeCompressedCommand(buf, at, end)) this.compress();
      }
    }
    if (this.inflated) return this.decodeCompressed(dir, buf, at, end);
    if (end - at < 4) return NEED_MORE;
    return dir === Dir.REQUEST ? this.decodeRequest(buf, at, end, false) : this.decodeResponse(buf, at, end);
  }

  /** `cut`: the bytes end where the capture did, so a command is taken as far as it goes instead of waited for */
  private decodePacket(dir: Dir, buf: Uint8Array, at: number, end: number, cut = false): StepResult {
    if (end - at < 4) return NEED_MORE;
    return dir === Dir.REQUEST ? this.decodeRequest(buf, at, end, cut) : this.decodeResponse(buf, at, end);
  }

  private compress(): void {
    this.framing = 'compressed';
    this.inflated = [new InflatedStream(), new InflatedStream()];
  }

  /**
   * A compressed packet is taken whole (stream assembly holds it, bounded by
   * max_buffered_bytes) and inflated; the MySQL units inside are then handed
   * out one per call as steps that take no bytes of the stream, positioned at
   * the compressed packet's start, and a last step takes the whole compressed
   * packet. A MySQL packet cut by the end of a compressed packet waits in the
   * inflated stream for the next one.
   */
  private decodeCompressed(dir: Dir, buf: Uint8Array, at: number, end: number): StepResult {
    const inflated = this.inflated![dir];
    if (!inflated.serving) {
      if (end - at < COMPRESSED_HEADER) return NEED_MORE;
      const whole = COMPRESSED_HEADER + packetLength(buf, at);
      if (whole > end - at) return NEED_MORE;
      const payload = inflatePacket(buf, at);
      if (payload === 'oversize') this.sink.count('decompressed_oversize');
      if (payload === undefined || payload === 'oversize') return INVALID;
      inflated.serve(payload, whole);
    }
    const r = this.decodePacket(dir, inflated.bytes, inflated.at, inflated.end);
    if (r === INVALID) return INVALID;
    if (r !== NEED_MORE) {
      inflated.take(r.len, r.skip);
      r.len = 0;
      r.skip = 0;
      return r;
    }
    return inflated.settle() ? step(inflated.packetLength, 0, false, false) : INVALID;
  }

  /**
   * A compressed packet cut short by bytes the probe did not capture (it keeps
   * the first 4096 of each call): the start of its payload still inflates, and
   * a message that begins there is kept, completed as truncated.
   */
  decodePartial(dir: Dir, buf: Uint8Array, at: number, end: number): unknown {
    const inflated = this.inflated?.[dir];
    if (!inflated) {
      // a command the capture cut: what of it is here
      const r = dir === Dir.REQUEST ? this.decodePacket(dir, buf, at, end, true) : NEED_MORE;
      return r !== NEED_MORE && r !== INVALID && r.begins ? r.value : undefined;
    }
    if (inflated.serving || end - at < COMPRESSED_HEADER) return undefined;
    const start = inflateStart(buf, at, end);
    if (!start) return undefined;
    inflated.append(start);
    for (;;) {
      const r = this.decodePacket(dir, inflated.bytes, inflated.at, inflated.end, true);
      if (r === NEED_MORE || r === INVALID) return undefined;
      inflated.take(r.len, r.skip);
      if (r.begins) return r.value;
    }
  }

  private decodeRequest(buf: Uint8Array, at: number, end: number, cut: boolean): StepResult {
    const length = packetLength(buf, at);
    const whole = 4 + length;
    const present = Math.min(end - at, whole);
    if (this.requestContinues) {
      this.requestContinues = length === MAX_PACKET;
      return step(4, length, false, !this.requestContinues);
    }
    const seq = packetSeq(buf, at);
    if (seq !== 0) {
      // handshake response, auth switch data, LOCAL INFILE contents: not commands
      if (whole > end - at) return whole <= MAX_WAITED_PACKET ? NEED_MORE : step(present, whole - present, false, false);
      // only after a greeting: without it a packet of sequence 1 may be anything
      if (seq === 1 && this.serverCaps !== undefined && this.clientCaps === undefined && length >= 4) {
        const r = parseHandshakeResponse(buf, at + 4, at + whole);
        if (r) this.handshakeResponse(r.capabilities, r.database, r.ssl);
      }
      return step(whole, 0, false, false);
    }
    if (length === 0) return INVALID;
    if (end - at < 5) return NEED_MORE;
    const code = buf[at + 4];
    if (!(code in COMMAND_NAMES)) return INVALID;
    if (whole > end - at && whole <= MAX_WAITED_PACKET && !cut) return NEED_MORE;
    const fields: MysqlFields = { command: COMMAND_NAMES[code] };
    if (this.database !== undefined) fields.database = this.database;
    const value: RequestValue = { fields, code };
    const body = at + 5;
    const stop = at + present;
    if (code === Cmd.QUERY || code === Cmd.STMT_PREPARE) {
      const text = code === Cmd.QUERY ? this.queryText(buf, body, stop, fields) : body;
      // none of the text captured: no SQL rather than an empty one
      if (text >= 0 && text < stop) {
        value.sql = this.summaries.ofUtf8(buf, text, Math.min(stop, text + 4 * this.mysql.maxSqlLength));
        this.describe(fields, value.sql);
      }
    } else if ((code === Cmd.STMT_EXECUTE || code === Cmd.STMT_CLOSE || code === Cmd.STMT_RESET || code === Cmd.STMT_FETCH) && stop - body >= 4) {
      fields.statementId = u32(buf, body);
      const statement = this.statements?.get(fields.statementId);
      if (statement) this.describe(fields, statement.sql);
      if (code === Cmd.STMT_EXECUTE && this.queryAttributes) {
        const names = this.executeAttributes(buf, body, stop, statement);
        if (names?.length) fields.queryAttributes = names as string[];
      }
    } else if (code === Cmd.INIT_DB) {
      value.initDb = nameText(buf, body, Math.min(stop, body + 256));
    } else if (code === Cmd.CHANGE_USER) {
      value.changeUser = readChangeUserDatabase(buf, body, stop, this.clientCaps ?? Cap.SECURE_CONNECTION);
    }
    this.requestContinues = length === MAX_PACKET;
    return step(present, whole - present, true, !this.requestContinues, value);
  }

  /** The client's capabilities and database from its handshake response: what the two sides now speak. */
  private handshakeResponse(capabilities: number, database: string | undefined, ssl: boolean): void {
    this.clientCaps = capabilities;
    this.framing = 'plain';
    const both = capabilities & (this.serverCaps ?? capabilities);
    this.queryAttributes = (both & Cap.QUERY_ATTRIBUTES) !== 0;
    this.deprecateEof = (both & Cap.DEPRECATE_EOF) !== 0;
    if (database) this.database = database;
    if (ssl) this.abandoned = true;
  }

  /** The server's OK ends authentication: compression, when negotiated, starts with the next packet. */
  private authenticated(): void {
    if (this.clientCaps === undefined || this.framing === 'compressed') return;
    const both = this.clientCaps & (this.serverCaps ?? this.clientCaps);
    if (both & Cap.COMPRESS) this.compress();
    else if (both & Cap.ZSTD_COMPRESSION_ALGORITHM) {
      // Node 20's zlib has no zstd: the connection is given up, counted
      this.sink.count('unsupported_compression');
      this.abandoned = true;
    }
  }

  /**
   * Where a COM_QUERY's text starts (`body`: after the command byte), past
   * its query attributes, whose names go into `f`; -1 when the bytes there
   * cannot be placed (attributes negotiated but their block does not parse,
   * or neither attributes nor SQL while unknown): better no SQL than one made
   * of the attributes' bytes.
   */
  private queryText(buf: Uint8Array, body: number, stop: number, f: MysqlFields): number {
    if (this.queryAttributes === false) return body;
    let block: ParameterBlock | undefined;
    if (this.queryAttributes) {
      block = readQueryAttributes(buf, body, stop);
      if (!block) return -1;
    } else {
      block = looksLikeAttributedQuery(buf, body, stop);
      if (!block) {
        // plain SQL proves there are none; anything else cannot be placed
        if (!looksLikeSqlStart(buf, body, stop)) return -1;
        this.queryAttributes = false;
        return body;
      }
      this.queryAttributes = true;
    }
    if (block.names.length) f.queryAttributes = block.names as string[];
    return block.end;
  }

  /** The attribute names of a COM_STMT_EXECUTE (`body`: after the command byte), when its parameter block can be read. */
  private executeAttributes(buf: Uint8Array, body: number, stop: number, statement: PreparedStatement | undefined): readonly string[] | undefined {
    const at = body + 9; // statement id, flags, iteration count
    if (at > stop) return undefined;
    // a parameter count follows when the flag says so or the statement has parameters (known from its prepare)
    const counted = (buf[body + 4] & PARAMETER_COUNT_AVAILABLE) !== 0 || (statement !== undefined && statement.params > 0);
    const count = counted ? lenenc(buf, at, stop) : undefined;
    if (!count || count[0] === 0 || count[0] > 0xffff) return undefined;
    return readParameters(buf, at + count[1], stop, count[0], true)?.names;
  }

  private describe(f: MysqlFields, s: SqlSummary): void {
    f.sql = s.sql;
    if (s.operation) f.operation = s.operation;
    if (s.summary) f.summary = s.summary;
  }

  private decodeResponse(buf: Uint8Array, at: number, end: number): StepResult {
    const length = packetLength(buf, at);
    const whole = 4 + length;
    const s = at + 4;
    const haveWhole = whole <= end - at;
    if (this.rowContinues) {
      this.rowContinues = length === MAX_PACKET;
      return step(4, length, false, false);
    }
    if (this.phase === 'trailing_eof') {
      if (end - at < 5) return NEED_MORE;
      this.phase = 'idle';
      if (buf[s] === 0xfe && length === 5) {
        if (!haveWhole) return NEED_MORE;
        this.deprecateEof = false;
        return step(whole, 0, false, false);
      }
      this.deprecateEof = true;
    }
    if (this.phase === 'idle') {
      const req = this.queue.peek();
      if (!req) {
        // greeting, auth switch, the OK that ends authentication: not responses to commands
        if (!haveWhole) return whole <= MAX_WAITED_PACKET ? NEED_MORE : step(end - at, whole - (end - at), false, false);
        const seq = packetSeq(buf, at);
        if (seq === 0 && length > 0 && buf[s] === 10) {
          const g = parseGreeting(buf, s, at + whole);
          if (g) {
            this.serverCaps = g.capabilities;
            this.framing = 'plain';
          }
        } else if (seq >= 2 && length > 0 && buf[s] === 0) this.authenticated();
        return step(whole, 0, false, false);
      }
      this.response = { generation: this.generation };
      return this.firstPacket(req, buf, at, end, true);
    }
    if (this.phase === 'next_result') return this.firstPacket(this.queue.peek(), buf, at, end, false);
    if (this.phase === 'auth') return this.authExchange(buf, at, end, false);
    if (length === 0) return INVALID;
    if (end - at < 5) return NEED_MORE;
    const first = buf[s];
    const isEof = first === 0xfe && length < 9;
    const resp = this.response!;
    switch (this.phase) {
      case 'columns':
      case 'params':
      case 'prep_columns':
        if (--this.remaining > 0) return step(4, length, false, false);
        if (this.phase === 'columns') {
          this.phase = this.deprecateEof ? 'rows' : 'columns_eof';
          return step(4, length, false, false);
        }
        if (this.deprecateEof) return this.afterDefinitions(length);
        if (this.deprecateEof === undefined && (this.phase === 'prep_columns' || this.prepColumns === 0)) {
          // the reply is over unless an EOF follows: end it here, and let an EOF next say so
          this.phase = 'trailing_eof';
          return step(4, length, false, true);
        }
        this.phase = this.phase === 'params' ? 'params_eof' : 'prep_columns_eof';
        return step(4, length, false, false);
      case 'params_eof':
      case 'prep_columns_eof':
        if (isEof) {
          this.deprecateEof = false;
          return this.afterDefinitions(length);
        }
        if (this.deprecateEof !== undefined || this.phase === 'prep_columns_eof') return INVALID;
        // parameter definitions went straight on to column definitions: no EOF packets here
        this.deprecateEof = true;
        this.phase = 'prep_columns';
        this.remaining = this.prepColumns;
        return this.decodeResponse(buf, at, end);
      case 'columns_eof':
        this.deprecateEof ??= !isEof;
        this.phase = 'rows';
        if (isEof) return step(4, length, false, false);
        break;
    }
    // rows
    if (first === 0xff) {
      if (!haveWhole && whole <= MAX_WAITED_PACKET) return NEED_MORE;
      resp.err = parseErr(buf, s, Math.min(end, at + whole));
      this.phase = 'idle';
      return step(Math.min(whole, end - at), Math.max(0, whole - (end - at)), false, true);
    }
    if (first === 0xfe && length < MAX_PACKET) {
      if (!haveWhole) return whole <= MAX_WAITED_PACKET ? NEED_MORE : INVALID;
      // a classic EOF is 5 bytes; the OK that ends rows under CLIENT_DEPRECATE_EOF at least 7
      this.deprecateEof ??= length >= 7;
      const status = length < 9 ? eofStatus(buf, s, at + whole) : (parseOk(buf, s, at + whole)?.status ?? 0);
      return this.endOfResult(whole, status);
    }
    resp.rows = (resp.rows ?? 0) + 1;
    this.rowContinues = length === MAX_PACKET;
    return step(4, length, false, false);
  }

  /** Parameter or column definitions of a prepare reply are done. */
  private afterDefinitions(length: number): StepResult {
    if ((this.phase === 'params' || this.phase === 'params_eof') && this.prepColumns > 0) {
      this.phase = 'prep_columns';
      this.remaining = this.prepColumns;
      return step(4, length, false, false);
    }
    this.phase = 'idle';
    return step(4, length, false, true);
  }

  private endOfResult(len: number, status: number): StepResult {
    if (status & SERVER_MORE_RESULTS_EXISTS) {
      this.phase = 'next_result';
      return step(len, 0, false, false);
    }
    this.phase = 'idle';
    return step(len, 0, false, true);
  }

  /** The first packet of a response, or of the next result of a multi-result response. */
  private firstPacket(req: { fields: RequestValue } | undefined, buf: Uint8Array, at: number, end: number, begins: boolean): StepResult {
    const length = packetLength(buf, at);
    if (length === 0) return INVALID;
    if (end - at < 5) return NEED_MORE;
    const whole = 4 + length;
    const s = at + 4;
    const first = buf[s];
    const resp = this.response!;
    const value = begins ? resp : undefined;
    const code = req?.fields.code;
    if (code === Cmd.CHANGE_USER) return this.authExchange(buf, at, end, begins);
    if (first === 0xff || first === 0x00 || (first === 0xfe && length < 9)) {
      if (whole > end - at) return whole <= MAX_WAITED_PACKET ? NEED_MORE : INVALID;
      if (first === 0xff) {
        resp.err = parseErr(buf, s, at + whole);
        this.phase = 'idle';
        return step(whole, 0, begins, true, value);
      }
      if (first === 0x00 && code === Cmd.STMT_PREPARE) {
        const p = parsePrepareOk(buf, s, at + whole);
        if (!p) return INVALID;
        resp.statementId = p.statementId;
        resp.params = p.params;
        this.prepColumns = p.columns;
        if (p.params > 0) {
          this.phase = 'params';
          this.remaining = p.params;
        } else if (p.columns > 0) {
          this.phase = 'prep_columns';
          this.remaining = p.columns;
        } else {
          this.phase = 'idle';
          return step(whole, 0, begins, true, value);
        }
        return step(whole, 0, begins, false, value);
      }
      let status: number;
      if (first === 0x00) {
        const ok = parseOk(buf, s, at + whole);
        status = ok?.status ?? 0;
        resp.affectedRows = (resp.affectedRows ?? 0) + (ok?.affectedRows ?? 0);
      } else status = eofStatus(buf, s, at + whole);
      const r = this.endOfResult(whole, status) as { begins: boolean; value?: unknown };
      r.begins = begins;
      r.value = value;
      return r as StepResult;
    }
    if (first === 0xfb) {
      // LOCAL INFILE: the client sends the file, then the server answers with OK/ERR
      this.phase = 'next_result';
      return step(Math.min(whole, end - at), Math.max(0, whole - (end - at)), begins, false, value);
    }
    if (code === Cmd.FIELD_LIST) {
      // the field definitions are the rows of this reply; this is the first
      this.phase = 'rows';
      resp.rows = 1;
      return step(4, length, begins, false, value);
    }
    if (code === Cmd.STATISTICS) {
      this.phase = 'idle';
      return step(4, length, begins, true, value);
    }
    const n = lenenc(buf, s, Math.min(end, at + whole));
    if (!n || n[0] === 0 || n[1] > length || length > n[1] + 1) return INVALID;
    // MariaDB's cached metadata: a flag byte after the count, 0 when the column definitions are not resent
    if (length === n[1] + 1 && buf[s + n[1]] === 0) {
      this.phase = 'rows';
    } else {
      this.phase = 'columns';
      this.remaining = n[0];
    }
    resp.rows ??= 0;
    return step(whole, 0, begins, false, value);
  }

  /**
   * COM_CHANGE_USER's reply: an authentication exchange (auth switch, more
   * data; the client's answers are not commands) that ends with OK or ERR.
   */
  private authExchange(buf: Uint8Array, at: number, end: number, begins: boolean): StepResult {
    const length = packetLength(buf, at);
    const whole = 4 + length;
    if (length === 0) return INVALID;
    if (whole > end - at) return whole <= MAX_WAITED_PACKET ? NEED_MORE : INVALID;
    const resp = this.response!;
    const value = begins ? resp : undefined;
    const first = buf[at + 4];
    if (first === 0xff) resp.err = parseErr(buf, at + 4, at + whole);
    if (first === 0xff || first === 0x00) {
      this.phase = 'idle';
      return step(whole, 0, begins, true, value);
    }
    this.phase = 'auth';
    return step(whole, 0, begins, false, value);
  }

  canStart(dir: Dir, buf: Uint8Array, at: number, end: number): boolean {
    let starts: boolean;
    if (dir === Dir.RESPONSE) starts = this.inflated ? looksLikeCompressedResponse(buf, at, end) : looksLikeResponseStart(buf, at, end);
    else if (this.framing === 'unknown') starts = looksLikeCommand(buf, at, end) || looksLikeCompressedCommand(buf, at, end);
    else starts = this.inflated ? looksLikeCompressedCommand(buf, at, end) : looksLikeCommand(buf, at, end);
    // asked where stream assembly would resume: what a decode of bytes it passed over since left behind goes
    this.resetDecoding(dir);
    // the client began a command here that cannot be read (sequence 0, of the packet or compressed packet):
    // it was sent once the owed responses were read, so they are over
    if (!starts && dir === Dir.REQUEST && end - at >= 4 && buf[at + 3] === 0 && this.queue.size) this.giveUpWaiting();
    return starts;
  }

  /**
   * The direction lost its framing. Lost request bytes may have held a
   * command, and a client sends one only once the previous response was read
   * (MySQL does not pipeline): the responses owed are over, seen or not, but
   * for a command whose own tail was lost. Lost response bytes may have held
   * the response owed (and the next command, in records the probe did not
   * hand over, with them): the command waiting is given up, never paired with
   * a response after them.
   */
  reset(dir: Dir): void {
    if (dir === Dir.RESPONSE) {
      this.cutRequest = undefined;
      this.giveUpWaiting();
      return;
    }
    this.resetDecoding(dir);
    const cut = this.cutRequest;
    this.cutRequest = undefined;
    if (this.queue.size > (cut && this.queue.peek() === cut ? 1 : 0)) this.giveUpWaiting(cut);
  }

  private resetDecoding(dir: Dir): void {
    this.inflated?.[dir].reset();
    if (dir === Dir.REQUEST) this.requestContinues = false;
    else {
      this.phase = 'idle';
      this.rowContinues = false;
    }
  }

  /** The requests waiting (but `keep`) will not see their responses: given up, and a response of theirs still open ignored. */
  private giveUpWaiting(keep?: PendingRequest<RequestValue>): void {
    for (const r of this.queue.drain()) {
      if (r === keep) {
        this.queue.push(r);
        continue;
      }
      this.sink.count('truncated');
      this.emit(r, 'no_response');
    }
    this.generation++;
    this.resetDecoding(Dir.RESPONSE);
  }

  complete(dir: Dir, value: unknown, start: NetworkRecord, startSeq: number, last: NetworkRecord, truncated: boolean): void {
    if (truncated) this.sink.count('truncated');
    if (dir === Dir.REQUEST) {
      const req = value as RequestValue;
      if (NO_RESPONSE.has(req.code)) {
        if (req.code === Cmd.STMT_CLOSE && req.fields.statementId !== undefined) this.statements?.delete(req.fields.statementId);
        this.emit({ fields: req, start, startSeq, last, truncated }, 'ok');
        return;
      }
      // MySQL does not pipeline: a new command means the previous response is over, seen or not.
      if (this.queue.size) this.giveUpWaiting();
      const pending = { fields: req, start, startSeq, last, truncated };
      this.queue.push(pending);
      this.cutRequest = truncated ? pending : undefined;
      return;
    }
    const resp = value as ResponseValue;
    if (resp.generation !== this.generation) return;
    const req = this.queue.takeFor(start);
    if (!req) {
      this.sink.count('unmatched_response');
      return;
    }
    const f = req.fields.fields;
    if (resp.err) {
      f.errorCode = resp.err.code;
      if (resp.err.sqlState) f.sqlState = resp.err.sqlState;
      f.errorMessage = resp.err.message;
    } else {
      const code = req.fields.code;
      // a response cut short (bytes the probe did not capture) has counts that are only a start: none is given
      if (!truncated) {
        if (resp.rows !== undefined) f.rows = resp.rows;
        const changesRows = code === Cmd.QUERY || code === Cmd.STMT_EXECUTE;
        if (changesRows && resp.affectedRows !== undefined && resp.rows === undefined) f.affectedRows = resp.affectedRows;
      }
      if (code === Cmd.STMT_PREPARE && resp.statementId !== undefined) {
        f.statementId = resp.statementId;
        if (req.fields.sql) {
          const statements = (this.statements ??= new Map());
          if (statements.size >= this.mysql.maxStatements) statements.delete(statements.keys().next().value!);
          statements.set(resp.statementId, { sql: req.fields.sql, params: resp.params ?? 0 });
        }
      }
      if (code === Cmd.INIT_DB && req.fields.initDb) this.database = req.fields.initDb;
      if (code === Cmd.QUERY && req.fields.sql?.operation === 'USE') {
        const name = req.fields.sql.sql.slice(4).trim().replace(/[`;]/g, '').trim();
        if (name) this.database = name;
      }
      // both end the session's prepared statements; a new user also brings its own default database
      if (code === Cmd.RESET_CONNECTION || code === Cmd.CHANGE_USER) this.statements = undefined;
      if (code === Cmd.CHANGE_USER && req.fields.changeUser) this.database = req.fields.changeUser.database;
    }
    this.emit(req, resp.err ? 'error' : 'ok', start, startSeq, last);
  }

  private emit(req: PendingRequest<RequestValue>, outcome: 'ok' | 'error' | 'no_response', respStart?: NetworkRecord, respSeq?: number, respLast?: NetworkRecord): void {
    this.sink.emit(makeMessage('mysql', this.role, req.fields.fields, req, outcome, respStart, respSeq, respLast));
  }

  close(_last: NetworkRecord | undefined): void {
    // a connection usually ends with nothing waiting: no iterator made over an empty queue (close runs once per connection)
    if (this.queue.size === 0) return;
    for (const r of this.queue.drain()) this.emit(r, 'no_response');
  }
}
