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
import { ConnMeta, copyRecord, FuncId, isEgress, isIngress, payloadIn } from '../../core/records/network-data';
import { localHostInfo } from '../../core/host';
import { PairingGate, type GateCounters } from './alignment';
import { Dir, type ProtocolSession } from './decoder';
import { ProtocolDetector, type Detection } from './detect';
import { HttpSession } from './http/session';
import { Http2Session, type Http2Options } from './http2/session';
import { MysqlSession, type MysqlOptions } from './mysql/session';
import { SqlSummaries } from './mysql/sql-summaries';
import { PostgresqlSession, type PostgresqlOptions } from './postgresql/session';
import { RedisSession, type RedisOptions } from './redis/session';
import type { SessionOptions, SessionSink } from './session-base';
import { ConnectionTable } from './connection-table';
import { ListeningSockets } from './listening-sockets';
import { inferSide, type SideEvidence } from './side';
import { DirectionStream, type StreamCounters } from './stream';

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
  /** the same for a connection whose start was not seen: its first records may all be inside one message (default 64) */
  midstreamDetectRecords?: number;
  /** where the host's /proc is, to read listening sockets when a connection's side must be inferred; unset: never read */
  procRoot?: string;
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
  /** connections whose side the probe did not tell, by the evidence that decided it */
  inferredSide?(evidence: SideEvidence, n: number): void;
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

/** Released connections kept for new ones: enough for the connections a batch opens and closes (a few hundred bytes each). */
const MAX_SPARE_CONNECTIONS = 256;

/** Released sessions kept per protocol and side. */
const MAX_SPARE_SESSIONS = 128;

/** Connection.touched of one made by a batch's first pass and not yet in the list of live connections (batches count from 1). */
const UNLISTED = 0;

/**
 * Every field but its streams and gate is set by reopen(): a released
 * connection is kept (its streams and gate with it) and taken again for a
 * new one, so a new connection costs no objects of its own (the demo capture
 * makes one per MySQL query and per HTTP call between its services).
 */
class Connection {
  id!: string;
  /** neighbours in the engine's list of connections, least recently active first */
  older: Connection | undefined;
  newer: Connection | undefined;
  state!: number;
  session: ProtocolSession | undefined;
  /** what its session's protocol reports to, and keeps its released sessions in */
  outlets: ProtocolOutlets | undefined;
  /** begun with its session once the protocol is known */
  readonly request = new DirectionStream(Dir.REQUEST);
  readonly response = new DirectionStream(Dir.RESPONSE);
  /** made for the first session it carries that answers in order, and begun again for each */
  gate: PairingGate | undefined;
  requestIsEgress!: boolean;
  /** its start (connect, accept, the first record of a handshake seen) was not seen: undefined until its first record */
  midstream: boolean | undefined;
  recordsSeen!: number;
  /** data records of each direction in which no protocol was recognised */
  unrecognisedEgress!: number;
  unrecognisedIngress!: number;
  /** records seen before the protocol was known (copies, bounded by detectRecords): fed once it is */
  held: NetworkRecord[] | undefined;
  lastActive!: number;
  lastRecord: NetworkRecord | undefined;
  /** batch bookkeeping: the batch that last touched it (UNLISTED before its first), and the last index it saw there */
  touched!: number;
  batchStamp!: number;
  batchLastIndex!: number;
  released!: boolean;

  constructor(id: string) {
    this.reopen(id);
  }

  /** As new, for `id`. */
  reopen(id: string): void {
    this.id = id;
    this.older = this.newer = undefined;
    this.state = DETECTING;
    this.session = this.outlets = undefined;
    this.requestIsEgress = false;
    this.midstream = undefined;
    this.recordsSeen = this.unrecognisedEgress = this.unrecognisedIngress = 0;
    this.held = undefined;
    this.lastActive = 0;
    this.lastRecord = undefined;
    this.touched = UNLISTED;
    this.batchStamp = this.batchLastIndex = 0;
    this.released = false;
  }

  /** Released: lets go of its session, streams and records while it waits to be taken again. */
  end(): void {
    this.released = true;
    this.session = this.outlets = this.lastRecord = this.held = undefined;
    this.request.end();
    this.response.end();
  }

  countUnrecognised(egress: boolean): void {
    if (egress) this.unrecognisedEgress++;
    else this.unrecognisedIngress++;
  }

  unrecognised(egress: boolean): number {
    return egress ? this.unrecognisedEgress : this.unrecognisedIngress;
  }
}

/** Where the sessions of one protocol put their messages (counted there: no pass over the output to tell their protocols) and failures, and what its streams count. */
interface ProtocolOutlets {
  readonly sink: SessionSink & { emitted: number };
  readonly counters: StreamCounters & GateCounters;
  /** released sessions of each side, restarted, to be taken again by new connections (those of protocols whose sessions restart) */
  readonly spareClients: ProtocolSession[];
  readonly spareServers: ProtocolSession[];
}

/** Failure tallies for one batch, flushed to the counters once per batch. */
type Tally = Map<string, number>;

export class ParseEngine implements StatefulEngine<NetworkRecord, L7Message> {
  private readonly conns = new ConnectionTable<Connection>();
  /** released connections kept to be taken again (newConnection) */
  private readonly spares: Connection[] = [];
  /**
   * The same connections linked least recently active first, so the idle
   * sweep and the max-connections eviction both take from the oldest end;
   * moving one to the newest end costs no map update.
   */
  private readonly recency = new RecencyList<Connection>();
  /** connections in the list: the table also holds those a batch's first pass made and the second has not reached yet */
  private listed = 0;
  private readonly enabled: ReadonlySet<Protocol>;
  private readonly detector: ProtocolDetector;
  private readonly sqlSummaries: SqlSummaries;
  private readonly postgresqlSummaries: SqlSummaries;
  private readonly sessionOptions: SessionOptions;
  private out: L7Message[] = [];
  private readonly tally: Tally = new Map();
  private undetected = 0;
  private readonly inferredSides = new Map<SideEvidence, number>();
  private readonly listening: ListeningSockets | undefined;
  private readonly midstreamDetectRecords: number;

  constructor(
    private readonly settings: ParseSettings,
    private readonly counters: ParseCounters = NO_COUNTERS,
  ) {
    this.enabled = new Set(settings.protocols);
    this.detector = new ProtocolDetector(this.enabled);
    this.sqlSummaries = new SqlSummaries(settings.mysql.maxSqlLength, settings.mysql.keepRawSql);
    this.postgresqlSummaries = new SqlSummaries(settings.postgresql.maxSqlLength, false, undefined, 'postgresql');
    this.sessionOptions = { maxPendingRequests: settings.maxPendingRequests };
    this.listening = settings.procRoot ? new ListeningSockets(settings.procRoot, localHostInfo().hostId) : undefined;
    this.midstreamDetectRecords = settings.midstreamDetectRecords ?? 64;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  private batchNo = 0;
  /** the connection of each record of the batch being parsed; emptied after it, so that a freed connection is not kept reachable from here */
  private readonly batchConnections: (Connection | undefined)[] = [];

  /** Parses one batch of records; returns the messages completed by it. */
  add(batch: readonly NetworkRecord[], now: number): L7Message[] {
    // Records of one connection go in `index` order; a batch holds many connections interleaved,
    // and is almost always in order already: look each connection up once, and notice if not.
    const stamp = ++this.batchNo;
    const conns = this.batchConnections;
    let sorted = true;
    let previous: Connection | undefined;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i];
      const id = r.connId;
      // a connection's records often come one after the other (a request, then its response): looked up once
      let c = previous !== undefined && previous.id === id ? previous : this.conns.get(id);
      // new here: in the table at once, in the list of live connections once its first record is fed
      if (!c) this.conns.add((c = this.newConnection(id)));
      previous = c;
      const index = r.index;
      if (c.batchStamp === stamp && index < c.batchLastIndex) sorted = false;
      c.batchStamp = stamp;
      c.batchLastIndex = index;
      conns[i] = c;
    }
    if (sorted) {
      for (let i = 0; i < batch.length; i++) {
        let c = conns[i]!;
        // connections new here, freed earlier in this batch (closed, evicted), or not yet moved to the recent end
        if (c.released || c.touched !== stamp) c = this.connection(c.id, now, stamp, c);
        this.feed(c, batch[i]);
      }
    } else {
      const ordered = [...batch].sort((a, b) => (a.connId < b.connId ? -1 : a.connId > b.connId ? 1 : a.index - b.index));
      for (const r of ordered) this.feed(this.connection(r.connId, now, stamp), r);
    }
    conns.fill(undefined, 0, batch.length);
    return this.takeCompleted();
  }

  /**
   * A connection for `id`, one released before this batch when one is kept:
   * only add's first pass takes them, before the batch releases any, so no
   * record of the batch names a connection taken again for another id.
   */
  private newConnection(id: string): Connection {
    const c = this.spares.pop();
    if (c === undefined) return new Connection(id);
    c.reopen(id);
    return c;
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
      if (!c) this.conns.add((c = new Connection(id)));
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
    c.midstream ??= !opensConnection(r);
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
    const stream = egress === c.requestIsEgress ? c.request : c.response;
    stream.feed(r);
    if (c.session!.abandoned) {
      c.session!.close(r);
      if (this.upgradedToHttp2(c, r)) return true;
      c.state = IGNORED;
      c.session = undefined;
      c.request.end();
      c.response.end();
    }
    return true;
  }

  private start(c: Connection, r: NetworkRecord, egress: boolean): boolean {
    // detection reads the payload where it lies (no view made for it) unless held bytes come before it
    const place = payloadIn(r);
    if (place.end === place.start) {
      if (r.bufLen > 0) c.countUnrecognised(egress);
      return false;
    }
    // A first message may arrive a few bytes at a time: detect on what this direction sent so far.
    const same = c.held ? contiguousBefore(sameDirection(c.held, egress), r) : NOTHING_HELD;
    const bytes = same.length ? joinPayloads(same, r) : undefined;
    const length = bytes ? bytes.length : place.end - place.start;
    let d = bytes ? this.detector.detect(bytes) : this.detector.detect(place.bytes, place.start, place.end);
    let joinedFrom = 0;
    // joined inside a message: one may start at a later record, after the bytes of one whose start was not seen
    while (!d && c.midstream && joinedFrom < same.length) d = this.detector.detect(joinPayloads(same.slice(++joinedFrom), r));
    const first = joinedFrom < same.length ? same[joinedFrom] : r;
    if (!d) {
      c.countUnrecognised(egress);
      // a few bytes may still be the start of something: give up on records that said enough
      const limit = c.midstream ? this.midstreamDetectRecords : this.settings.detectRecords;
      if (++c.recordsSeen >= limit && (length >= 16 || c.recordsSeen >= 64)) {
        c.state = IGNORED;
        c.held = undefined;
        this.undetected++;
      } else {
        const held = (c.held ??= []);
        held.push(copyRecord(r, r.payload.slice()));
        // a connection joined mid-stream looks further: the latest records are what a start may be split over
        if (c.midstream && held.length > this.settings.detectRecords) held.shift();
      }
      return false;
    }
    const role = this.role(r, egress, d);
    c.requestIsEgress = role === 'client';
    const outlets = (c.outlets = this.outletsOf(d.protocol));
    const { counters } = outlets;
    const session = (c.session = this.session(d.protocol, role, outlets));
    c.request.begin(session, this.settings.maxBufferedBytes, counters);
    c.response.begin(session, this.settings.maxBufferedBytes, counters);
    if (session.answersInOrder) {
      const gate = (c.gate ??= new PairingGate(c.request, c.response));
      gate.begin(!c.midstream, session, counters);
      c.request.gate = c.response.gate = gate;
    }
    c.state = PARSING;
    const held = c.held;
    c.held = undefined;
    if (c.midstream) this.joinMidstream(c, d.protocol, egress, same.length - joinedFrom);
    if (held) {
      // earlier records of this direction start the stream; the other direction's went unrecognised before it and stay dropped
      for (const h of held) if (isEgress(h.funcId) === egress && h.index >= first.index) (egress === c.requestIsEgress ? c.request : c.response).feed(h);
    }
    return true;
  }

  /** The probe's side when it saw the connection open, else the strongest evidence there is (side.ts), counted. */
  private role(r: NetworkRecord, egress: boolean, d: Detection): 'client' | 'server' {
    if (r.connMeta & ConnMeta.CLIENT) return 'client';
    if (r.connMeta & ConnMeta.SERVER) return 'server';
    const inferred = inferSide(this.listening?.of(r), r.saddr, r.sport, egress, d.isRequest);
    this.inferredSides.set(inferred.evidence, (this.inferredSides.get(inferred.evidence) ?? 0) + 1);
    return inferred.role;
  }

  /**
   * A connection whose start was not seen: the records before its first
   * recognised message are skipped (counted), the other direction starts
   * where its session's canStart finds a message start, and pairing waits
   * until the two directions line up (alignment.ts).
   */
  private joinMidstream(c: Connection, p: Protocol, egress: boolean, joinedForDetection: number): void {
    const skippedHere = c.unrecognised(egress) - joinedForDetection;
    const skippedThere = c.unrecognised(!egress);
    if (skippedHere + skippedThere) this.bump(p, 'midstream_skipped', skippedHere + skippedThere);
    const detectedRequests = egress === c.requestIsEgress;
    (detectedRequests ? c.response : c.request).joinMidstream(skippedThere > 0);
    // request bytes of a message whose start was not seen: its response is owed
    if ((detectedRequests ? skippedHere : skippedThere) > 0) c.request.gate?.lost(Dir.REQUEST, false);
  }

  /** A session of `p` for `role`: one released by an earlier connection when one is kept. */
  private session(p: Protocol, role: 'client' | 'server', outlets: ProtocolOutlets): ProtocolSession {
    const spare = (role === 'client' ? outlets.spareClients : outlets.spareServers).pop();
    if (spare) return spare;
    const { sink } = outlets;
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
    const outlets = (c.outlets = this.outletsOf('http2'));
    const { sink, counters } = outlets;
    const session = new Http2Session(c.requestIsEgress ? 'client' : 'server', sink, this.sessionOptions, this.settings.http2, true);
    c.session = session;
    c.request.end();
    c.response.end();
    c.request.begin(session, this.settings.maxBufferedBytes, counters);
    c.response.begin(session, this.settings.maxBufferedBytes, counters);
    c.response.feed(r);
    return !session.abandoned;
  }

  private readonly outlets = new Map<Protocol, ProtocolOutlets>();

  /** What the connections of a protocol report to, made at its first: one lookup per connection. */
  private outletsOf(p: Protocol): ProtocolOutlets {
    let o = this.outlets.get(p);
    if (!o) this.outlets.set(p, (o = this.makeOutlets(p)));
    return o;
  }

  /** Apart from outletsOf: a function whose closures capture its variables makes their context at every call. */
  private makeOutlets(p: Protocol): ProtocolOutlets {
    const sink = {
      emitted: 0,
      emit: (m: L7Message) => {
        this.out.push(m);
        sink.emitted++;
      },
      count: (what: string) => this.bump(p, what),
    };
    const counters: StreamCounters & GateCounters = {
      desync: (reason) => this.bump(p, `desync_${reason}`),
      droppedBytes: () => this.bump(p, 'resync_dropped_record'),
      midstreamSkipped: () => this.bump(p, 'midstream_skipped'),
      unpaired: (dir) => this.bump(p, dir === Dir.REQUEST ? 'unpaired_request' : 'unmatched_response'),
    };
    return { sink, counters, spareClients: [], spareServers: [] };
  }

  private bump(p: Protocol, reason: string, n = 1): void {
    const k = `${p}\0${reason}`;
    this.tally.set(k, (this.tally.get(k) ?? 0) + n);
  }

  /** Frees a live connection: every connection fed a record was listed, and the table holds it until here. */
  private release(c: Connection): void {
    this.conns.delete(c);
    this.recency.unlink(c);
    this.listed--;
    if (c.state === PARSING) {
      c.request.close();
      c.response.close();
      c.session!.close(c.lastRecord);
      this.keepSession(c);
    }
    c.end();
    if (this.spares.length < MAX_SPARE_CONNECTIONS) this.spares.push(c);
  }

  /** Keeps a released connection's session, restarted, for a new connection of its protocol and side, when its class restarts. */
  private keepSession(c: Connection): void {
    const session = c.session!;
    if (!session.restart) return;
    const spares = c.requestIsEgress ? c.outlets!.spareClients : c.outlets!.spareServers;
    if (spares.length >= MAX_SPARE_SESSIONS) return;
    session.restart();
    spares.push(session);
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
      for (const [p, { sink }] of this.outlets) {
        if (sink.emitted) this.counters.messages(p, sink.emitted);
        sink.emitted = 0;
      }
    }
    if (this.tally.size) {
      for (const [k, n] of this.tally) {
        const [p, reason] = k.split('\0');
        this.counters.failures(p as Protocol, reason, n);
      }
      this.tally.clear();
    }
    if (this.undetected) {
      this.counters.undetected(this.undetected);
      this.undetected = 0;
    }
    if (this.inferredSides.size) {
      for (const [evidence, n] of this.inferredSides) this.counters.inferredSide?.(evidence, n);
      this.inferredSides.clear();
    }
    this.counters.connections(this.conns.size);
    return out;
  }
}

const NOTHING_HELD: readonly NetworkRecord[] = [];

/** The held records of one direction (apart from start(): a closure over `egress` there would make a context at every call). */
function sameDirection(held: readonly NetworkRecord[], egress: boolean): NetworkRecord[] {
  return held.filter((h) => isEgress(h.funcId) === egress);
}

/**
 * The held records of `r`'s direction that its bytes continue: those after a
 * record lost or not captured whole would join bytes that were never next to
 * each other (TLS plaintext records carry other numbers: all are taken).
 */
function contiguousBefore(held: readonly NetworkRecord[], r: NetworkRecord): readonly NetworkRecord[] {
  if (r.connMeta & ConnMeta.TLS) return held;
  let from = held.length;
  for (let next = r; from > 0; from--) {
    const h = held[from - 1];
    if (h.actSize !== h.bufLen || ((h.tcpSeq + h.bufLen) >>> 0) !== next.tcpSeq) break;
    next = h;
  }
  return from === 0 ? held : held.slice(from);
}

/** The payloads of `held` and then of `r`, in one buffer (`r`'s own when nothing is held). */
function joinPayloads(held: readonly NetworkRecord[], r: NetworkRecord): Uint8Array {
  if (!held.length) return r.payload;
  const bytes = new Uint8Array(held.reduce((n, h) => n + h.payload.length, r.payload.length));
  let at = 0;
  for (const h of held) {
    bytes.set(h.payload, at);
    at += h.payload.length;
  }
  bytes.set(r.payload, at);
  return bytes;
}

/**
 * The connection's first record says its start was seen: a connect or
 * accept, or the first record (index 0) of one whose side the probe or the
 * pcap receiver's handshake told.
 */
function opensConnection(r: NetworkRecord): boolean {
  const f = r.funcId;
  return f === FuncId.CONNECT || f === FuncId.ACCEPT || f === FuncId.ACCEPT4 || (r.index === 0 && (r.connMeta & (ConnMeta.CLIENT | ConnMeta.SERVER)) !== 0);
}

/**
 * The operator: one output batch per input batch that completed messages, one
 * per idle sweep (every half idle timeout) that freed any, and a last one when
 * the input completes.
 */
export function parseOperator(settings: ParseSettings, counters: ParseCounters = NO_COUNTERS, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<NetworkRecord[], L7Message[]> {
  return statefulOperator(() => new ParseEngine(settings, counters), Math.floor(settings.idleTimeoutMs / 2), scheduler);
}
