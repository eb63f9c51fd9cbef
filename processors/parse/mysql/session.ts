/**
 * MySQL on one connection: passes over the handshake (learning capabilities
 * and the database, never auth data), decodes commands, follows each
 * response through its packets (OK, ERR, EOF, result sets with their column
 * definitions and rows, prepare replies, several results when the server says
 * more exist), and remembers prepared statements (id → SQL), bounded.
 */
import type { SqlSummary } from '../../../core/redaction';
import type { MysqlFields, NetworkRecord } from '../../../core/signals';
import { Dir, INVALID, NEED_MORE, step, utf8, type Position, type ProtocolSession, type StepResult } from '../decoder';
import { makeMessage, RequestQueue, type PendingRequest, type SessionOptions, type SessionSink } from '../session-base';
import {
  Cap,
  Cmd,
  COMMAND_NAMES,
  MAX_PACKET,
  NO_RESPONSE,
  SERVER_MORE_RESULTS_EXISTS,
  eofStatus,
  lenenc,
  looksLikeCommand,
  packetLength,
  packetSeq,
  parseErr,
  parseGreeting,
  parseHandshakeResponse,
  parseOk,
  parsePrepareOk,
  u32,
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

type Phase = 'idle' | 'next_result' | 'columns' | 'columns_eof' | 'rows' | 'params' | 'params_eof' | 'prep_columns' | 'prep_columns_eof';

interface RequestValue {
  fields: MysqlFields;
  code: number;
  sql?: SqlSummary;
  initDb?: string;
}

interface ResponseValue {
  generation: number;
  rows?: number;
  affectedRows?: number;
  err?: { code: number; sqlState?: string; message: string };
  statementId?: number;
}

export class MysqlSession implements ProtocolSession {
  private readonly queue: RequestQueue<RequestValue>;
  private database: string | undefined;
  private serverCaps: number | undefined;
  private clientCaps: number | undefined;
  /** made at the first prepare: most connections never prepare */
  private statements: Map<number, SqlSummary> | undefined;
  private requestContinues = false;
  private rowContinues = false;
  private phase: Phase = 'idle';
  private remaining = 0;
  private prepColumns = 0;
  private response: ResponseValue | undefined;
  /** bumped when a response is given up on, so its late completion is ignored */
  private generation = 0;
  abandoned = false;

  constructor(
    private readonly role: 'client' | 'server',
    private readonly sink: SessionSink,
    opts: SessionOptions,
    private readonly mysql: MysqlOptions,
    private readonly summaries: SqlSummaries,
  ) {
    this.queue = new RequestQueue(opts.maxPendingRequests, this);
  }

  /** the queue was full: its oldest request is given up on */
  evicted(r: PendingRequest<RequestValue>): void {
    this.sink.count('evicted_request');
    this.emit(r, undefined, 'no_response');
  }

  private get deprecateEof(): boolean {
    if (this.clientCaps === undefined) return false;
    return (this.clientCaps & (this.serverCaps ?? Cap.DEPRECATE_EOF) & Cap.DEPRECATE_EOF) !== 0;
  }

  decode(dir: Dir, buf: Uint8Array, at: number, end: number): StepResult {
    if (this.abandoned) return step(end - at, 0, false, false);
    if (end - at < 4) return NEED_MORE;
    return dir === Dir.REQUEST ? this.decodeRequest(buf, at, end) : this.decodeResponse(buf, at, end);
  }

  private decodeRequest(buf: Uint8Array, at: number, end: number): StepResult {
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
      if (seq === 1 && this.clientCaps === undefined && length >= 4) {
        const r = parseHandshakeResponse(buf, at + 4, at + whole);
        if (r) {
          this.clientCaps = r.capabilities;
          if (r.database) this.database = r.database;
          if (r.ssl) this.abandoned = true;
        }
      }
      return step(whole, 0, false, false);
    }
    if (length === 0) return INVALID;
    if (end - at < 5) return NEED_MORE;
    const code = buf[at + 4];
    if (!(code in COMMAND_NAMES)) return INVALID;
    if (whole > end - at && whole <= MAX_WAITED_PACKET) return NEED_MORE;
    const fields: MysqlFields = { command: COMMAND_NAMES[code] };
    if (this.database !== undefined) fields.database = this.database;
    const value: RequestValue = { fields, code };
    const body = at + 5;
    const stop = at + present;
    if (code === Cmd.QUERY || code === Cmd.STMT_PREPARE) {
      value.sql = this.summaries.of(utf8(buf, body, Math.min(stop, body + 4 * this.mysql.maxSqlLength)));
      this.describe(fields, value.sql);
    } else if ((code === Cmd.STMT_EXECUTE || code === Cmd.STMT_CLOSE || code === Cmd.STMT_RESET || code === Cmd.STMT_FETCH) && stop - body >= 4) {
      fields.statementId = u32(buf, body);
      const sql = this.statements?.get(fields.statementId);
      if (sql) this.describe(fields, sql);
    } else if (code === Cmd.INIT_DB) {
      value.initDb = utf8(buf, body, Math.min(stop, body + 256));
    }
    this.requestContinues = length === MAX_PACKET;
    return step(present, whole - present, true, !this.requestContinues, value);
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
    if (this.phase === 'idle') {
      const req = this.queue.peek();
      if (!req) {
        // greeting, auth switch, the OK that ends authentication: not responses to commands
        if (!haveWhole) return whole <= MAX_WAITED_PACKET ? NEED_MORE : step(end - at, whole - (end - at), false, false);
        if (packetSeq(buf, at) === 0 && length > 0 && buf[s] === 10) {
          const g = parseGreeting(buf, s, at + whole);
          if (g) this.serverCaps = g.capabilities;
        }
        return step(whole, 0, false, false);
      }
      this.response = { generation: this.generation };
      return this.firstPacket(req, buf, at, end, true);
    }
    if (this.phase === 'next_result') return this.firstPacket(this.queue.peek(), buf, at, end, false);
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
        if (!this.deprecateEof) {
          this.phase = this.phase === 'params' ? 'params_eof' : 'prep_columns_eof';
          return step(4, length, false, false);
        }
        return this.afterDefinitions(length);
      case 'params_eof':
      case 'prep_columns_eof':
        if (!isEof) return INVALID;
        return this.afterDefinitions(length, true);
      case 'columns_eof':
        if (isEof) {
          this.phase = 'rows';
          return step(4, length, false, false);
        }
        this.phase = 'rows';
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
      const status = length < 9 ? eofStatus(buf, s, at + whole) : (parseOk(buf, s, at + whole)?.status ?? 0);
      return this.endOfResult(whole, status);
    }
    resp.rows = (resp.rows ?? 0) + 1;
    this.rowContinues = length === MAX_PACKET;
    return step(4, length, false, false);
  }

  /** Parameter or column definitions of a prepare reply are done. */
  private afterDefinitions(length: number, eofSeen = false): StepResult {
    if ((this.phase === 'params' || this.phase === 'params_eof') && this.prepColumns > 0) {
      this.phase = 'prep_columns';
      this.remaining = this.prepColumns;
      return step(4, length, false, false);
    }
    void eofSeen;
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
      this.phase = 'rows';
      resp.rows = 0;
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

  canStart(dir: Dir, buf: Uint8Array, at: number, end: number): boolean {
    if (dir === Dir.REQUEST) return looksLikeCommand(buf, at, end);
    return end - at >= 5 && buf[at + 3] === 1;
  }

  reset(dir: Dir): void {
    if (dir === Dir.REQUEST) this.requestContinues = false;
    else {
      this.phase = 'idle';
      this.rowContinues = false;
    }
  }

  complete(dir: Dir, value: unknown, start: Position, end: Position, truncated: boolean): void {
    if (truncated) this.sink.count('truncated');
    if (dir === Dir.REQUEST) {
      const req = value as RequestValue;
      if (NO_RESPONSE.has(req.code)) {
        if (req.code === Cmd.STMT_CLOSE && req.fields.statementId !== undefined) this.statements?.delete(req.fields.statementId);
        this.emit({ fields: req, start, end, truncated }, undefined, 'ok');
        return;
      }
      // MySQL does not pipeline: a new command means the previous response is over, seen or not.
      const older = this.queue.shift();
      if (older) {
        this.sink.count('truncated');
        this.emit(older, undefined, 'no_response');
        this.generation++;
        this.phase = 'idle';
        this.rowContinues = false;
      }
      this.queue.push({ fields: req, start, end, truncated });
      return;
    }
    const resp = value as ResponseValue;
    if (resp.generation !== this.generation) return;
    const req = this.queue.shift();
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
      if (resp.rows !== undefined) f.rows = resp.rows;
      const changesRows = req.fields.code === Cmd.QUERY || req.fields.code === Cmd.STMT_EXECUTE;
      if (changesRows && resp.affectedRows !== undefined && resp.rows === undefined) f.affectedRows = resp.affectedRows;
      if (req.fields.code === Cmd.STMT_PREPARE && resp.statementId !== undefined) {
        f.statementId = resp.statementId;
        if (req.fields.sql) {
          const statements = (this.statements ??= new Map());
          if (statements.size >= this.mysql.maxStatements) statements.delete(statements.keys().next().value!);
          statements.set(resp.statementId, req.fields.sql);
        }
      }
      if (req.fields.code === Cmd.INIT_DB && req.fields.initDb) this.database = req.fields.initDb;
      if (req.fields.code === Cmd.QUERY && req.fields.sql?.operation === 'USE') {
        const name = req.fields.sql.sql.slice(4).trim().replace(/[`;]/g, '').trim();
        if (name) this.database = name;
      }
    }
    this.emit(req, { start, end }, resp.err ? 'error' : 'ok');
  }

  private emit(req: { fields: RequestValue; start: Position; end: Position; truncated: boolean }, resp: { start: Position; end: Position } | undefined, outcome: 'ok' | 'error' | 'no_response'): void {
    const m = makeMessage('mysql', this.role, { ...req, fields: req.fields.fields }, resp, outcome);
    m.mysql = req.fields.fields;
    this.sink.emit(m);
  }

  close(_last: NetworkRecord | undefined): void {
    for (const r of this.queue.drain()) this.emit(r, undefined, 'no_response');
  }
}
