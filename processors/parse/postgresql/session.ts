/**
 * PostgreSQL on one connection. The client's messages are gathered into
 * groups, each answered by the server as a unit:
 *
 * - a simple Query (one or several statements), answered up to ReadyForQuery;
 * - extended-query messages up to and including an Execute (Parse, Bind,
 *   Describe, Close before it), answered when every one of them has had its
 *   completion message (ParseComplete, BindComplete, …, CommandComplete);
 * - extended-query messages up to a Sync without an Execute (the Sync after an
 *   Execute, a prepare), answered by ReadyForQuery: paired, not reported;
 * - a FunctionCall, answered up to ReadyForQuery.
 *
 * After an ErrorResponse the server skips everything up to the next Sync: the
 * pipelined groups it skipped are reported as `no_response`. Authentication
 * messages (PasswordMessage, SASL, GSS) are skipped unread; NoticeResponse,
 * NotificationResponse and ParameterStatus answer nothing and are passed
 * over; COPY data in either direction is skipped by length. After an
 * SSLRequest answered `S` the TLS plaintext, which the probe takes in the TLS
 * library, is parsed as any connection; TLS records themselves (the
 * plaintext not captured) and GSSAPI encryption stop the parsing. Statement and
 * portal names map to their SQL (bounded), so a statement prepared once and
 * executed many times keeps its text.
 */
import type { SqlSummary } from '../../../core/redaction';
import type { NetworkRecord, PostgresqlFields } from '../../../core/signals';
import { Dir, INVALID, NEED_MORE, latin1, recentLatin1, step, type ProtocolSession, type StepResult } from '../decoder';
import type { SqlSummaries } from '../mysql/sql-summaries';
import { makeMessage, RequestQueue, type PendingRequest, type SessionOptions, type SessionSink } from '../session-base';
import {
  BACKEND_TYPES,
  FRONTEND_TYPES,
  GSSENC_REQUEST,
  Msg,
  PROTOCOL_3_0,
  SSL_REQUEST,
  cstringEnd,
  i32,
  looksLikeAnswerStart,
  looksLikeFrontendQuery,
  messageLength,
  parseCommandTag,
  parseErrorFields,
  parseStartupParameters,
  untypedCode,
  type ErrorFields,
} from './parser';

export interface PostgresqlOptions {
  maxSqlLength: number;
  /** prepared statements (name → SQL) remembered per connection; portals are bounded the same */
  maxStatements: number;
}

/** Messages espan reads are waited for whole up to this length; longer ones are read from their first bytes. */
const MAX_WAITED_MESSAGE = 16384;
/** The protocol's own limit on a message. */
const MAX_MESSAGE = 1 << 30;

/** What the server is expected to send next on the response side. */
const enum ResponsePhase {
  /** the one byte answering SSLRequest / GSSENCRequest */
  ENCRYPTION_ANSWER,
  /** authentication, ParameterStatus, BackendKeyData: up to the first ReadyForQuery */
  STARTUP,
  READY,
}

interface Group {
  fields: PostgresqlFields;
  /** completion messages still to come for the group's Parse, Bind, Describe, Close, Execute and Sync */
  answers: number;
  /** answered up to ReadyForQuery, whatever comes before: a Query, a FunctionCall, a failed group holding a Sync */
  untilReady: boolean;
  /** holds a Sync */
  synced: boolean;
  /** holds an Execute, a Query or a FunctionCall: its message is emitted (a group that fails is too) */
  reported: boolean;
  failed: boolean;
}

interface Portal {
  statement: string;
  sql: SqlSummary | undefined;
}

export class PostgresqlSession implements ProtocolSession {
  private readonly queue: RequestQueue<Group>;
  private database: string | undefined;
  /** still before the client's first typed message (startup packets have no type byte) */
  private untyped = true;
  private responsePhase = ResponsePhase.READY;
  /** the group the client is sending */
  private building: Group | undefined;
  /** the group the server is answering */
  private answering: Group | undefined;
  /** an ErrorResponse came outside a group holding a Sync: the server skips what follows until one */
  private skippingToSync = false;
  /** made at the first Parse / Bind: connections using only simple queries never need them */
  private statements: Map<string, SqlSummary> | undefined;
  private portals: Map<string, Portal> | undefined;
  abandoned = false;

  constructor(
    private readonly role: 'client' | 'server',
    private readonly sink: SessionSink,
    opts: SessionOptions,
    private readonly pg: PostgresqlOptions,
    private readonly summaries: SqlSummaries,
  ) {
    this.queue = new RequestQueue(opts.maxPendingRequests, this);
  }

  /** the queue was full: its oldest group is given up on */
  evicted(r: PendingRequest<Group>): void {
    this.sink.count('evicted_request');
    if (r.fields.reported) this.emit(r, 'no_response');
  }

  decode(dir: Dir, buf: Uint8Array, at: number, end: number): StepResult {
    if (this.abandoned) return step(end - at, 0, false, false);
    return dir === Dir.REQUEST ? this.decodeRequest(buf, at, end) : this.decodeResponse(buf, at, end);
  }

  // ---- client → server

  private decodeRequest(buf: Uint8Array, at: number, end: number): StepResult {
    if (this.untyped) {
      // a startup packet's length starts with a zero byte; a typed message's type never is one
      if (buf[at] === 0) return this.decodeUntyped(buf, at, end);
      if (buf[at] === 0x16 && end - at > 1 && buf[at + 1] === 3) {
        // a TLS ClientHello (the SSLRequest's answer was 'S'), as encrypted bytes: its plaintext was not captured
        this.abandoned = true;
        return step(end - at, 0, false, false);
      }
      this.untyped = false;
    }
    if (end - at < 5) return NEED_MORE;
    const type = buf[at];
    const length = messageLength(buf, at);
    if (!FRONTEND_TYPES.has(type) || length < 4 || length > MAX_MESSAGE) return INVALID;
    const whole = 1 + length;
    switch (type) {
      case Msg.QUERY:
      case Msg.PARSE:
      case Msg.BIND:
      case Msg.DESCRIBE:
      case Msg.CLOSE:
      case Msg.EXECUTE:
        if (whole > end - at && whole <= MAX_WAITED_MESSAGE) return NEED_MORE;
        return this.groupMessage(type, buf, at, Math.min(end, at + whole), whole);
      case Msg.SYNC:
      case Msg.FUNCTION_CALL:
        return this.groupMessage(type, buf, at, Math.min(end, at + whole), whole);
      default:
        // PasswordMessage / SASL / GSS responses (never read), CopyData, CopyDone, CopyFail, Flush, Terminate
        return step(5, length - 4, false, false);
    }
  }

  private decodeUntyped(buf: Uint8Array, at: number, end: number): StepResult {
    if (end - at < 8) return NEED_MORE;
    const code = untypedCode(buf, at, end);
    if (code === undefined) return INVALID;
    const length = i32(buf, at);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      this.responsePhase = ResponsePhase.ENCRYPTION_ANSWER;
      return step(8, 0, false, false);
    }
    if (code === PROTOCOL_3_0) {
      if (length > end - at) return NEED_MORE;
      const p = parseStartupParameters(buf, at + 8, at + length);
      // the server defaults the database to the user name
      this.database = p.database ?? p.user;
      this.responsePhase = ResponsePhase.STARTUP;
      this.untyped = false;
    }
    // CancelRequest: a connection of its own, answered by none
    return step(8, length - 8, false, false);
  }

  /** A message that belongs to a group: `stop` is where its bytes present end, `whole` its full size. */
  private groupMessage(type: number, buf: Uint8Array, at: number, stop: number, whole: number): StepResult {
    const body = at + 5;
    const complete = at + whole === stop;
    const begins = type === Msg.QUERY || this.building === undefined;
    const g = begins ? (this.building = this.newGroup(type)) : this.building!;
    let ends = false;
    switch (type) {
      case Msg.QUERY: {
        g.untilReady = g.reported = ends = true;
        this.describeQuery(g.fields, this.summaryOf(buf, body, complete ? stop - 1 : stop));
        // a simple query drops the unnamed statement and portal
        this.statements?.delete('');
        this.portals?.delete('');
        break;
      }
      case Msg.PARSE: {
        g.answers++;
        const nameEnd = cstringEnd(buf, body, stop);
        if (nameEnd < 0) break;
        const textEnd = cstringEnd(buf, nameEnd + 1, stop);
        const sql = this.summaryOf(buf, nameEnd + 1, textEnd < 0 ? stop : textEnd);
        // what a group that fails before its Execute shows
        if (g.fields.sql === undefined) describe(g.fields, sql);
        remember((this.statements ??= new Map()), latin1(buf, body, nameEnd), sql, this.pg.maxStatements);
        break;
      }
      case Msg.BIND: {
        g.answers++;
        // the parameter values after the names are never read
        const portalEnd = cstringEnd(buf, body, stop);
        const statementEnd = portalEnd < 0 ? -1 : cstringEnd(buf, portalEnd + 1, stop);
        if (statementEnd < 0) break;
        const statement = latin1(buf, portalEnd + 1, statementEnd);
        remember((this.portals ??= new Map()), latin1(buf, body, portalEnd), { statement, sql: this.statements?.get(statement) }, this.pg.maxStatements);
        break;
      }
      case Msg.DESCRIBE:
        // a statement is described by ParameterDescription and RowDescription/NoData, a portal by the latter
        g.answers += buf[body] === 0x53 ? 2 : 1;
        break;
      case Msg.CLOSE: {
        g.answers++;
        const nameEnd = cstringEnd(buf, body + 1, stop);
        if (nameEnd < 0) break;
        const name = latin1(buf, body + 1, nameEnd);
        if (buf[body] === 0x53) this.statements?.delete(name);
        else this.portals?.delete(name);
        break;
      }
      case Msg.EXECUTE: {
        g.answers++;
        g.fields.command = 'Execute';
        g.reported = ends = true;
        const portalEnd = cstringEnd(buf, body, stop);
        if (portalEnd < 0) break;
        const name = latin1(buf, body, portalEnd);
        const portal = this.portals?.get(name);
        if (name) g.fields.portal = name;
        if (portal?.statement) g.fields.statement = portal.statement;
        // a Parse in the group may have named another statement: only the portal's says what runs
        if (portal?.sql) describe(g.fields, portal.sql);
        else {
          delete g.fields.sql;
          delete g.fields.operation;
          delete g.fields.summary;
        }
        break;
      }
      case Msg.SYNC:
        g.answers++;
        g.synced = ends = true;
        break;
      case Msg.FUNCTION_CALL:
        g.fields.command = 'FunctionCall';
        g.untilReady = g.reported = ends = true;
        break;
    }
    if (ends) this.building = undefined;
    return step(stop - at, at + whole - stop, begins, ends, begins ? g : undefined);
  }

  private newGroup(firstType: number): Group {
    const fields: PostgresqlFields = { command: MESSAGE_NAMES[firstType] };
    if (this.database !== undefined) fields.database = this.database;
    return { fields, answers: 0, untilReady: false, synced: false, reported: false, failed: false };
  }

  /** The sanitised SQL of the text buf[start, end), of which at most max_sql_length characters' worth of bytes are read. */
  private summaryOf(buf: Uint8Array, start: number, end: number): SqlSummary {
    return this.summaries.ofUtf8(buf, start, Math.min(end, start + 4 * this.pg.maxSqlLength));
  }

  /** A simple query's text, sanitised (`all`): one statement, or a batch of several (OpenTelemetry's `BATCH` naming). */
  private describeQuery(f: PostgresqlFields, all: SqlSummary): void {
    const statements = all.sql.includes(';') ? splitStatements(all.sql) : [];
    if (statements.length < 2) {
      describe(f, all);
      return;
    }
    f.sql = all.sql;
    f.batchSize = statements.length;
    const parts = statements.map((s) => this.summaries.of(s));
    const operation = parts[0].operation;
    f.operation = operation && parts.every((p) => p.operation === operation) ? `BATCH ${operation}` : 'BATCH';
    const summary = parts[0].summary;
    f.summary = summary && parts.every((p) => p.summary === summary) ? `BATCH ${summary}` : 'BATCH';
  }

  // ---- server → client

  private decodeResponse(buf: Uint8Array, at: number, end: number): StepResult {
    if (this.responsePhase === ResponsePhase.ENCRYPTION_ANSWER) {
      const answer = buf[at];
      if (answer === 0x47) {
        // 'G': GSSAPI encryption, nothing after this can be read
        this.abandoned = true;
        return step(end - at, 0, false, false);
      }
      this.responsePhase = ResponsePhase.STARTUP;
      // 'N', or 'S': TLS follows, and its plaintext (when the probe takes it in the TLS library) goes on as any connection
      if (answer === 0x4e || answer === 0x53) return step(1, 0, false, false);
      // an ErrorResponse instead: a server that knows no encryption requests
    }
    if (this.responsePhase === ResponsePhase.STARTUP && buf[at] === 0x16 && end - at > 1 && buf[at + 1] === 3) {
      // a TLS ServerHello: the encrypted bytes themselves, whose plaintext was not captured
      this.abandoned = true;
      return step(end - at, 0, false, false);
    }
    if (end - at < 5) return NEED_MORE;
    const type = buf[at];
    const length = messageLength(buf, at);
    if (!BACKEND_TYPES.has(type) || length < 4 || length > MAX_MESSAGE) return INVALID;
    if (type === Msg.COPY_BOTH) {
      // streaming replication: no more requests and responses on this connection
      this.abandoned = true;
      return step(end - at, 0, false, false);
    }
    if (this.responsePhase === ResponsePhase.STARTUP) {
      // authentication requests and their data are not read
      if (type === Msg.READY_FOR_QUERY) this.responsePhase = ResponsePhase.READY;
      return step(5, length - 4, false, false);
    }
    const whole = 1 + length;
    const readsBody = type === Msg.COMMAND_COMPLETE || type === Msg.ERROR_RESPONSE;
    if (readsBody && whole > end - at && whole <= MAX_WAITED_MESSAGE) return NEED_MORE;
    let g = this.answering;
    const begins = g === undefined;
    if (!g) {
      if (this.skippingToSync) this.dropSkippedGroups();
      g = this.queue.peek()?.fields;
      if (!g || type === Msg.NOTIFICATION) {
        if (type !== Msg.NOTIFICATION && type !== Msg.NOTICE && type !== Msg.PARAMETER_STATUS) this.sink.count('unmatched_response');
        return step(5, length - 4, false, false);
      }
      this.answering = g;
    }
    let answered = false;
    let ends = false;
    let len = 5;
    switch (type) {
      case Msg.DATA_ROW:
        g.fields.rows = (g.fields.rows ?? 0) + 1;
        break;
      case Msg.ROW_DESCRIPTION:
        g.fields.rows ??= 0;
        answered = true;
        break;
      case Msg.COMMAND_COMPLETE:
      case Msg.ERROR_RESPONSE: {
        len = Math.min(whole, end - at);
        if (type === Msg.COMMAND_COMPLETE) {
          const z = cstringEnd(buf, at + 5, at + len);
          this.applyTag(g.fields, recentLatin1(buf, at + 5, z < 0 ? at + len : z));
          answered = true;
        } else {
          this.applyError(g, parseErrorFields(buf, at + 5, at + len));
          // the server now skips to the next Sync: a group holding one is answered by ReadyForQuery
          ends = !g.untilReady && !g.synced;
          if (ends) this.skippingToSync = true;
          else g.untilReady = true;
        }
        break;
      }
      case Msg.READY_FOR_QUERY:
        ends = true;
        this.skippingToSync = false;
        break;
      case Msg.PARSE_COMPLETE:
      case Msg.BIND_COMPLETE:
      case Msg.CLOSE_COMPLETE:
      case Msg.PARAMETER_DESCRIPTION:
      case Msg.NO_DATA:
      case Msg.EMPTY_QUERY:
      case Msg.PORTAL_SUSPENDED:
      case Msg.FUNCTION_CALL_RESPONSE:
        answered = true;
        break;
      // NoticeResponse, NotificationResponse, ParameterStatus, CopyInResponse, CopyOutResponse, CopyData, CopyDone: part of the answer, not its end
    }
    if (answered && !g.untilReady && --g.answers <= 0) ends = true;
    if (ends) this.answering = undefined;
    return step(len, whole - len, begins, ends, begins ? g : undefined);
  }

  private applyTag(f: PostgresqlFields, tag: string): void {
    f.commandTag = tag;
    const t = parseCommandTag(tag);
    f.operation ??= t.command;
    if (t.rows === undefined || t.command === 'MOVE') return;
    // the rows returned were counted as DataRows, which RETURNING clauses send too
    if (t.command === 'SELECT' || t.command === 'FETCH') f.rows ??= 0;
    else f.affectedRows = (f.affectedRows ?? 0) + t.rows;
  }

  private applyError(g: Group, e: ErrorFields): void {
    g.failed = true;
    if (e.sqlState) g.fields.sqlState = e.sqlState;
    if (e.severity) g.fields.errorSeverity = e.severity;
    if (e.message !== undefined) g.fields.errorMessage = e.message;
  }

  /** Groups sent after a failed one and before the next Sync: the server skipped them. */
  private dropSkippedGroups(): void {
    for (let head = this.queue.peek(); head && !head.fields.synced; head = this.queue.peek()) {
      this.queue.shift();
      if (head.fields.reported) this.emit(head, 'no_response');
    }
  }

  canStart(dir: Dir, buf: Uint8Array, at: number, end: number): boolean {
    if (dir === Dir.RESPONSE) return looksLikeAnswerStart(buf, at, end);
    if (end - at < 5) return false;
    return looksLikeFrontendQuery(buf, at, end) || (buf[at] === Msg.SYNC && messageLength(buf, at) === 4);
  }

  /**
   * The direction lost its framing. Lost response bytes may have held the
   * answers of the groups waiting, or their starts (passed over): those
   * groups are given up, never paired with answers after the bytes lost.
   */
  reset(dir: Dir): void {
    if (dir === Dir.REQUEST) {
      this.building = undefined;
      return;
    }
    this.answering = undefined;
    for (const r of this.queue.drain()) if (r.fields.reported) this.emit(r, 'no_response');
  }

  complete(dir: Dir, value: unknown, start: NetworkRecord, startSeq: number, last: NetworkRecord, truncated: boolean): void {
    if (truncated) this.sink.count('truncated');
    const g = value as Group;
    if (dir === Dir.REQUEST) {
      this.queue.push({ fields: g, start, startSeq, last, truncated });
      return;
    }
    const head = this.queue.peek();
    if (head?.fields !== g) {
      this.sink.count('unmatched_response');
      return;
    }
    if (!this.queue.takeFor(start)) return this.sink.count('unmatched_response');
    if (g.reported || g.failed) this.emit(head, g.failed ? 'error' : 'ok', start, startSeq, last);
  }

  private emit(req: PendingRequest<Group>, outcome: 'ok' | 'error' | 'no_response', respStart?: NetworkRecord, respSeq?: number, respLast?: NetworkRecord): void {
    this.sink.emit(makeMessage('postgresql', this.role, req.fields.fields, req, outcome, respStart, respSeq, respLast));
  }

  close(_last: NetworkRecord | undefined): void {
    // a connection usually ends with nothing waiting: no iterator made over an empty queue (close runs once per connection)
    if (this.queue.size === 0) return;
    for (const r of this.queue.drain()) if (r.fields.reported) this.emit(r, 'no_response');
  }
}

/** Names of the frontend messages that open a group: a group without Execute is reported by its first. */
const MESSAGE_NAMES: Record<number, string> = {
  [Msg.QUERY]: 'Query',
  [Msg.PARSE]: 'Parse',
  [Msg.BIND]: 'Bind',
  [Msg.DESCRIBE]: 'Describe',
  [Msg.CLOSE]: 'Close',
  [Msg.EXECUTE]: 'Execute',
  [Msg.SYNC]: 'Sync',
  [Msg.FUNCTION_CALL]: 'FunctionCall',
};

function describe(f: PostgresqlFields, s: SqlSummary): void {
  f.sql = s.sql;
  if (s.operation) f.operation = s.operation;
  if (s.summary) f.summary = s.summary;
}

/** Sets `key` in a map bounded to `max` entries, dropping the oldest when full. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** The statements of sanitised SQL: split at the semicolons outside quoted identifiers (literals and comments are gone). */
export function splitStatements(sanitised: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < sanitised.length; i++) {
    const c = sanitised.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 59 && !quoted) {
      const s = sanitised.slice(start, i).trim();
      if (s) out.push(s);
      start = i + 1;
    }
  }
  const last = sanitised.slice(start).trim();
  if (last) out.push(last);
  return out;
}
