/**
 * The `parse` processor: records in, messages out. Keeps a bounded table of
 * connections (least recently active first, so the idle sweep and the
 * max-connections eviction both take from the front), detects each
 * connection's protocol, and feeds each direction's bytes through stream
 * assembly into the protocol's session.
 *
 *   records$.pipe(parseOperator(config, counters)) // → L7Message[] batches
 */
import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { statefulOperator, type StatefulEngine } from '../../core/stateful-operator';
import { RecencyList } from '../../core/collections/recency-list';
import type { L7Message, NetworkRecord, Protocol } from '../../core/signals';
import { ConnMeta, copyRecord, FuncId, isEgress, isIngress } from '../../core/records/network-data';
import { Dir, type ProtocolSession } from './decoder';
import { detect } from './detect';
import { HttpSession } from './http/session';
import { Http2Session, type Http2Options } from './http2/session';
import { MysqlSession, type MysqlOptions } from './mysql/session';
import { SqlSummaries } from './mysql/sql-summaries';
import { PostgresqlSession, type PostgresqlOptions } from './postgresql/session';
import { RedisSession, type RedisOptions } from './redis/session';
import type { SessionOptions, SessionSink } from './session-base';
import { DirectionStream } from './stream';

export interface ParseSettings {
  protocols: Protocol[];
  /** ms without a record after which a connection's state is freed */
  idleTimeoutMs: number;
  maxConnections: number;
  maxPendingRequests: number;
  /** bytes held per direction for a unit that has not fully arrived */
  maxBufferedBytes: number;
  /** records a connection may show before it is set aside as unknown */
  detectRecords: number;
  redis: RedisOptions;
  mysql: MysqlOptions;
  http2: Http2Options;
  postgresql: PostgresqlOptions;
}

/** What the processor reports; ComponentTelemetry counters in production, plain tallies in tests. */
export interface ParseCounters {
  messages(protocol: Protocol, n: number): void;
  failures(protocol: Protocol, reason: string, n: number): void;
  undetected(n: number): void;
  evictedConnections(reason: 'idle' | 'max_connections', n: number): void;
  connections(n: number): void;
}

export const NO_COUNTERS: ParseCounters = {
  messages: () => {},
  failures: () => {},
  undetected: () => {},
  evictedConnections: () => {},
  connections: () => {},
};

const DETECTING = 0;
const PARSING = 1;
const IGNORED = 2;

/** Connection.touched of one made by a batch's first pass and not yet in the list of live connections (batches count from 1). */
const UNLISTED = 0;

class Connection {
  /** neighbours in the engine's list of connections, least recently active first */
  older: Connection | undefined = undefined;
  newer: Connection | undefined = undefined;
  state = DETECTING;
  session: ProtocolSession | undefined;
  request: DirectionStream | undefined;
  response: DirectionStream | undefined;
  requestIsEgress = false;
  recordsSeen = 0;
  /** records seen before the protocol was known (copies, bounded by detectRecords): fed once it is */
  held: NetworkRecord[] | undefined;
  lastActive = 0;
  lastRecord: NetworkRecord | undefined;
  /** batch bookkeeping: the batch that last touched it (UNLISTED before its first), and the last index it saw there */
  touched = UNLISTED;
  batchStamp = 0;
  batchLastIndex = 0;
  released = false;

  constructor(readonly id: string) {}
}

/** Failure tallies for one batch, flushed to the counters once per batch. */
type Tally = Map<string, number>;

export class ParseEngine implements StatefulEngine<NetworkRecord, L7Message> {
  private readonly conns = new Map<string, Connection>();
  /**
   * The same connections linked least recently active first, so the idle
   * sweep and the max-connections eviction both take from the oldest end;
   * moving one to the newest end costs no map update.
   */
  private readonly recency = new RecencyList<Connection>();
  /** connections in the list: the table also holds those a batch's first pass made and the second has not reached yet */
  private listed = 0;
  private readonly enabled: ReadonlySet<Protocol>;
  private readonly sqlSummaries: SqlSummaries;
  private readonly postgresqlSummaries: SqlSummaries;
  private readonly sessionOptions: SessionOptions;
  private out: L7Message[] = [];
  private tally: Tally = new Map();
  private undetected = 0;

  constructor(
    private readonly settings: ParseSettings,
    private readonly counters: ParseCounters = NO_COUNTERS,
  ) {
    this.enabled = new Set(settings.protocols);
    this.sqlSummaries = new SqlSummaries(settings.mysql.maxSqlLength, settings.mysql.keepRawSql);
    this.postgresqlSummaries = new SqlSummaries(settings.postgresql.maxSqlLength, false, undefined, 'postgresql');
    this.sessionOptions = { maxPendingRequests: settings.maxPendingRequests };
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  private batchNo = 0;

  /** Parses one batch of records; returns the messages completed by it. */
  add(batch: readonly NetworkRecord[], now: number): L7Message[] {
    // Records of one connection go in `index` order; a batch holds many connections interleaved,
    // and is almost always in order already: look each connection up once, and notice if not.
    const stamp = ++this.batchNo;
    const conns: Connection[] = new Array(batch.length);
    let sorted = true;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i];
      let c = this.conns.get(r.connId);
      // new here: in the table at once, in the list of live connections once its first record is fed
      if (!c) this.conns.set(r.connId, (c = new Connection(r.connId)));
      if (c.batchStamp === stamp && r.index < c.batchLastIndex) sorted = false;
      c.batchStamp = stamp;
      c.batchLastIndex = r.index;
      conns[i] = c;
    }
    if (sorted) {
      for (let i = 0; i < batch.length; i++) {
        let c = conns[i];
        // connections new here, freed earlier in this batch (closed, evicted), or not yet moved to the recent end
        if (c.released || c.touched !== stamp) c = this.connection(c.id, now, stamp, c);
        this.feed(c, batch[i]);
      }
    } else {
      const ordered = [...batch].sort((a, b) => (a.connId < b.connId ? -1 : a.connId > b.connId ? 1 : a.index - b.index));
      for (const r of ordered) this.feed(this.connection(r.connId, now, stamp), r);
    }
    return this.takeCompleted();
  }

  /**
   * The live connection of `id`, listed and moved to the newest end once per
   * batch; `seen` is what the batch's first pass found or made for it, used
   * unless it was freed since.
   */
  private connection(id: string, now: number, stamp: number, seen?: Connection): Connection {
    let c = seen && !seen.released ? seen : this.conns.get(id);
    if (c?.touched === stamp) return c;
    if (c && c.touched !== UNLISTED) {
      this.recency.unlink(c);
    } else {
      if (this.listed >= this.settings.maxConnections) {
        this.release(this.recency.oldest!);
        this.counters.evictedConnections('max_connections', 1);
      }
      if (!c) this.conns.set(id, (c = new Connection(id)));
      this.listed++;
    }
    c.touched = stamp;
    c.lastActive = now;
    this.recency.append(c);
    return c;
  }

  /** Returns false when the connection was released. */
  private feed(c: Connection, r: NetworkRecord): boolean {
    if (c.released) return false;
    const f = r.funcId;
    if (f === FuncId.CLOSE) {
      c.lastRecord ??= r;
      this.release(c);
      return false;
    }
    const egress = isEgress(f);
    if (!egress && !isIngress(f)) return true; // connect/accept: nothing to parse
    if (c.state === IGNORED) return true;
    if (c.state === DETECTING && !this.start(c, r, egress)) return true;
    c.lastRecord = r;
    const stream = egress === c.requestIsEgress ? c.request! : c.response!;
    stream.feed(r);
    if (c.session!.abandoned) {
      c.session!.close(r);
      if (this.upgradedToHttp2(c, r)) return true;
      c.state = IGNORED;
      c.session = c.request = c.response = undefined;
    }
    return true;
  }

  private start(c: Connection, r: NetworkRecord, egress: boolean): boolean {
    if (r.payload.length === 0) return false;
    // A first message may arrive a few bytes at a time: detect on what this direction sent so far.
    let bytes = r.payload;
    const same = c.held?.filter((h) => isEgress(h.funcId) === egress);
    if (same?.length) {
      const parts = [...same.map((h) => h.payload), r.payload];
      bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
    }
    const d = detect(bytes, this.enabled);
    if (!d) {
      // a few bytes may still be the start of something: give up on records that said enough
      if (++c.recordsSeen >= this.settings.detectRecords && (bytes.length >= 16 || c.recordsSeen >= 64)) {
        c.state = IGNORED;
        c.held = undefined;
        this.undetected++;
      } else {
        (c.held ??= []).push(copyRecord(r, r.payload.slice()));
      }
      return false;
    }
    const first = same?.length ? same[0] : r;
    let role: 'client' | 'server';
    if (r.connMeta & ConnMeta.CLIENT) role = 'client';
    else if (r.connMeta & ConnMeta.SERVER) role = 'server';
    else role = egress === d.isRequest ? 'client' : 'server';
    c.requestIsEgress = role === 'client';
    c.session = this.session(d.protocol, role);
    c.request = new DirectionStream(Dir.REQUEST, c.session, this.settings.maxBufferedBytes, this.streamCounters(d.protocol));
    c.response = new DirectionStream(Dir.RESPONSE, c.session, this.settings.maxBufferedBytes, this.streamCounters(d.protocol));
    c.state = PARSING;
    const held = c.held;
    c.held = undefined;
    if (held) {
      // earlier records of this direction start the stream; the other direction's went unrecognised before it and stay dropped
      for (const h of held) if (isEgress(h.funcId) === egress && h.index >= first.index) (egress === c.requestIsEgress ? c.request : c.response).feed(h);
    }
    return true;
  }

  private session(p: Protocol, role: 'client' | 'server'): ProtocolSession {
    const sink = this.sink(p);
    const opts = this.sessionOptions;
    if (p === 'http') return new HttpSession(role, sink, opts);
    if (p === 'http2') return new Http2Session(role, sink, opts, this.settings.http2);
    if (p === 'redis') return new RedisSession(role, sink, opts, this.settings.redis);
    if (p === 'postgresql') return new PostgresqlSession(role, sink, opts, this.settings.postgresql, this.postgresqlSummaries);
    return new MysqlSession(role, sink, opts, this.settings.mysql, this.sqlSummaries);
  }

  /**
   * An HTTP/1.1 connection that answered 101 may go on in HTTP/2 (h2c
   * upgrade): an HTTP/2 session takes it from that response's record on, and
   * gives up by itself unless the 101 switched to h2c.
   */
  private upgradedToHttp2(c: Connection, r: NetworkRecord): boolean {
    if (!(c.session instanceof HttpSession) || !this.enabled.has('http2') || isEgress(r.funcId) === c.requestIsEgress) return false;
    const session = new Http2Session(c.requestIsEgress ? 'client' : 'server', this.sink('http2'), this.sessionOptions, this.settings.http2, true);
    c.session = session;
    c.request = new DirectionStream(Dir.REQUEST, session, this.settings.maxBufferedBytes, this.streamCounters('http2'));
    c.response = new DirectionStream(Dir.RESPONSE, session, this.settings.maxBufferedBytes, this.streamCounters('http2'));
    c.response.feed(r);
    return !session.abandoned;
  }

  private readonly sinks = new Map<Protocol, SessionSink>();

  private sink(p: Protocol): SessionSink {
    let s = this.sinks.get(p);
    if (!s) {
      s = {
        emit: (m) => this.out.push(m),
        count: (what) => this.bump(p, what),
      };
      this.sinks.set(p, s);
    }
    return s;
  }

  private bump(p: Protocol, reason: string, n = 1): void {
    const k = `${p}\0${reason}`;
    this.tally.set(k, (this.tally.get(k) ?? 0) + n);
  }

  private readonly streamCountersByProtocol = new Map<Protocol, ConstructorParameters<typeof DirectionStream>[3]>();

  private streamCounters(p: Protocol): ConstructorParameters<typeof DirectionStream>[3] {
    let s = this.streamCountersByProtocol.get(p);
    if (!s) {
      s = {
        desync: (reason) => this.bump(p, `desync_${reason}`),
        droppedBytes: () => this.bump(p, 'resync_dropped_record'),
      };
      this.streamCountersByProtocol.set(p, s);
    }
    return s;
  }

  private release(c: Connection): void {
    c.released = true;
    if (this.conns.get(c.id) === c) {
      this.conns.delete(c.id);
      this.recency.unlink(c);
      this.listed--;
    }
    if (c.state !== PARSING) return;
    c.request!.close();
    c.response!.close();
    c.session!.close(c.lastRecord);
  }

  /** Frees connections idle since before `now - idleTimeoutMs`; returns what that completed. */
  tick(now: number): L7Message[] {
    const limit = now - this.settings.idleTimeoutMs;
    let n = 0;
    for (let c = this.recency.oldest; c && c.lastActive <= limit; c = this.recency.oldest) {
      this.release(c);
      n++;
    }
    if (n) this.counters.evictedConnections('idle', n);
    return this.takeCompleted();
  }

  /** Input completed: every connection ends here. */
  flush(): L7Message[] {
    while (this.recency.oldest) this.release(this.recency.oldest);
    return this.takeCompleted();
  }

  /** The messages completed since the last call, counted. */
  private takeCompleted(): L7Message[] {
    const out = this.out;
    this.out = [];
    if (out.length) {
      let http = 0;
      let redis = 0;
      let mysql = 0;
      let http2 = 0;
      let postgresql = 0;
      for (const m of out) {
        if (m.protocol === 'http') http++;
        else if (m.protocol === 'redis') redis++;
        else if (m.protocol === 'postgresql') postgresql++;
        else if (m.protocol === 'http2') http2++;
        else mysql++;
      }
      if (http) this.counters.messages('http', http);
      if (redis) this.counters.messages('redis', redis);
      if (mysql) this.counters.messages('mysql', mysql);
      if (http2) this.counters.messages('http2', http2);
      if (postgresql) this.counters.messages('postgresql', postgresql);
    }
    if (this.tally.size) {
      for (const [k, n] of this.tally) {
        const [p, reason] = k.split('\0');
        this.counters.failures(p as Protocol, reason, n);
      }
      this.tally = new Map();
    }
    if (this.undetected) {
      this.counters.undetected(this.undetected);
      this.undetected = 0;
    }
    this.counters.connections(this.conns.size);
    return out;
  }
}

/**
 * The operator: one output batch per input batch that completed messages, one
 * per idle sweep (every half idle timeout) that freed any, and a last one when
 * the input completes.
 */
export function parseOperator(settings: ParseSettings, counters: ParseCounters = NO_COUNTERS, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<NetworkRecord[], L7Message[]> {
  return statefulOperator(() => new ParseEngine(settings, counters), Math.floor(settings.idleTimeoutMs / 2), scheduler);
}
