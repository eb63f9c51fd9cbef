/**
 * TCP reassembly for pcap input: each direction of each connection is put
 * back in sequence order (out-of-order segments held, bounded; retransmitted
 * bytes dropped), and each in-order stretch becomes a `records` item seen
 * from one end of the connection, as the probe would have seen it: `tcp_seq`
 * is the segment's sequence number, bytes lost in the capture become a record
 * that moved bytes but captured none (`act_size < buf_len`), which the
 * parsers already know how to ride over. There is no process here: pid and
 * tid are 0 and CONN_META_NO_TASK says so. A connection whose handshake is
 * not in the capture waits a few segments for evidence of which end is the
 * server (README: which end is the server).
 */
import { createHash } from 'node:crypto';
import type { HostInfo, NetworkRecord, Protocol } from '../../core/signals';
import { ConnMeta, FuncId } from '../../core/records/network-data';
import { detect } from '../../processors/parse/detect';
import { PROTOCOLS } from '../../processors/parse/factory';
import type { TcpSegment } from './packet';

export type Perspective = 'server' | 'client' | 'both';

export interface ReassemblyOptions {
  perspective: Perspective;
  maxConnections: number;
  /** out-of-order bytes held per direction before the missing ones are given up as a gap */
  maxOutOfOrderBytes: number;
}

export interface ReassemblyCounters {
  gap(bytes: number): void;
  retransmitted(bytes: number): void;
  outOfOrder(): void;
  evicted(): void;
  /** a connection without its handshake in the capture got its server end from `evidence` */
  sideInferred(evidence: SideEvidence): void;
}

/** How the server end of a connection whose handshake was not captured was chosen, strongest first. */
export type SideEvidence = 'listening_port' | 'request_direction' | 'response_direction' | 'port_range' | 'lower_port';

/** Segments pending per connection while its server end is undecided; beyond them the weaker evidence decides. */
export const SIDE_HOLD_SEGMENTS = 8;
export const SIDE_HOLD_BYTES = 16384;
/** Linux's ephemeral ports (ip_local_port_range) start at 32768 by default; the IANA dynamic range at 49152. */
const EPHEMERAL_PORTS_FROM = 32768;
const ALL_PROTOCOLS: ReadonlySet<Protocol> = new Set(PROTOCOLS);

interface Held {
  seq: number;
  payload: Uint8Array;
  length: number;
  ts: number;
}

class Flow {
  nextSeq: number | undefined;
  held: Held[] = [];
  heldBytes = 0;
  fin = false;
}

interface Endpoint {
  addr: string;
  port: number;
}

interface Pending {
  seg: TcpSegment;
  ts: number;
}

class Connection {
  /** flows[0]: a → b, flows[1]: b → a */
  readonly flows: [Flow, Flow] = [new Flow(), new Flow()];
  /** which endpoint (0 = a, 1 = b) is the server, once known or inferred */
  server: 0 | 1 | undefined;
  /** the handshake was captured: the records carry the role bits */
  roleKnown = false;
  /** segments seen before the server end was decided (no handshake yet), in arrival order */
  pending: Pending[] = [];
  pendingBytes = 0;
  connIds: [string, string] = ['', ''];
  indexes: [number, number] = [0, 0];
  constructor(
    readonly a: Endpoint,
    readonly b: Endpoint,
    readonly isV6: boolean,
    readonly generation: number,
  ) {}
}

export class TcpReassembler {
  private readonly conns = new Map<string, Connection>();
  /** `addr|port` of server ends whose handshake was captured (bounded like the connections): they accept there */
  private readonly listening = new Set<string>();
  private generation = 0;

  constructor(
    private readonly opts: ReassemblyOptions,
    private readonly host: HostInfo,
    private readonly counters: ReassemblyCounters,
  ) {}

  /** Adds one segment seen at `ts` (ns since the capture's first packet); pushes the records it completes. */
  add(seg: TcpSegment, ts: number, out: NetworkRecord[]): void {
    const srcKey = `${seg.src}|${seg.sport}`;
    const dstKey = `${seg.dst}|${seg.dport}`;
    const srcIsA = srcKey < dstKey;
    const key = srcIsA ? `${srcKey}-${dstKey}` : `${dstKey}-${srcKey}`;
    let c = this.conns.get(key);
    const d: 0 | 1 = srcIsA ? 0 : 1;
    if (c && seg.syn && !seg.ackFlag) {
      // where this direction's bytes were, delivered or pending: elsewhere, a new connection on the same four-tuple
      const sentBefore = c.flows[d].nextSeq ?? c.pending.find((p) => p.seg.src === seg.src && p.seg.sport === seg.sport)?.seg.seq;
      if (sentBefore !== undefined && sentBefore !== ((seg.seq + 1) >>> 0)) {
        this.finish(key, c, ts, out, true);
        c = undefined;
      }
    }
    if (!c) {
      if (seg.rst || (seg.fin && seg.payloadLength === 0)) return; // the tail of a connection we never saw
      if (this.conns.size >= this.opts.maxConnections) {
        const [oldKey, old] = this.conns.entries().next().value!;
        this.finish(oldKey, old, ts, out, false);
        this.counters.evicted();
      }
      const src = { addr: seg.src, port: seg.sport };
      const dst = { addr: seg.dst, port: seg.dport };
      c = srcIsA ? new Connection(src, dst, seg.isV6, this.generation++) : new Connection(dst, src, seg.isV6, this.generation++);
      this.conns.set(key, c);
    }
    if (c.server === undefined && !seg.syn) this.awaitSide(c, seg, ts, out);
    else this.apply(key, c, d, seg, ts, out);
  }

  private apply(key: string, c: Connection, d: 0 | 1, seg: TcpSegment, ts: number, out: NetworkRecord[]): void {
    const flow = c.flows[d];
    if (seg.syn) {
      flow.nextSeq = (seg.seq + 1) >>> 0;
      if (!c.roleKnown) {
        // SYN comes from the client, SYN-ACK from the server
        c.server = seg.ackFlag ? d : ((1 - d) as 0 | 1);
        c.roleKnown = true;
        this.rememberListening(c.server === 0 ? c.a : c.b);
        this.deliverPending(c, out);
      }
    }
    if (seg.payloadLength > 0) this.deliver(c, d, seg.syn ? (seg.seq + 1) >>> 0 : seg.seq, seg.payload, seg.payloadLength, ts, out);
    if (seg.fin) flow.fin = true;
    if (seg.rst || (c.flows[0].fin && c.flows[1].fin)) this.finish(key, c, ts, out, true);
  }

  /**
   * No handshake (yet): the segment waits while the capture may still tell
   * which end is the server; a FIN or RST, or the hold limit, decides with
   * what there is.
   */
  private awaitSide(c: Connection, seg: TcpSegment, ts: number, out: NetworkRecord[]): void {
    if (seg.payloadLength === 0 && !seg.fin && !seg.rst) return; // a bare ACK carries nothing to deliver
    c.pending.push({ seg, ts });
    c.pendingBytes += seg.payload.length;
    const final = seg.fin || seg.rst || c.pending.length >= SIDE_HOLD_SEGMENTS || c.pendingBytes >= SIDE_HOLD_BYTES;
    if (this.decideSide(c, final)) this.deliverPending(c, out);
  }

  /** Delivers the pending segments, now that the server end is known. */
  private deliverPending(c: Connection, out: NetworkRecord[]): void {
    const pending = c.pending;
    c.pending = [];
    c.pendingBytes = 0;
    const key = this.keyOf(c);
    for (const p of pending) {
      if (this.conns.get(key) !== c) break; // a pending RST or FIN ended it
      this.apply(key, c, p.seg.src === c.a.addr && p.seg.sport === c.a.port ? 0 : 1, p.seg, p.ts, out);
    }
  }

  /**
   * The server end of a connection whose handshake was not captured, from the
   * strongest evidence: a port that accepted another connection of the
   * capture, then the first bytes that read as a request (or a response) of
   * a protocol espan parses, then an ephemeral port facing a lower one, then
   * the lower port. Returns false to wait for more segments.
   */
  private decideSide(c: Connection, final: boolean): boolean {
    const aListens = this.listening.has(`${c.a.addr}|${c.a.port}`);
    if (aListens !== this.listening.has(`${c.b.addr}|${c.b.port}`)) return this.inferred(c, aListens ? 0 : 1, 'listening_port');
    const d = this.detectNewest(c);
    if (d) return this.inferred(c, d.isRequest ? ((1 - d.from) as 0 | 1) : d.from, d.isRequest ? 'request_direction' : 'response_direction');
    if (!final) return false;
    const aEphemeral = c.a.port >= EPHEMERAL_PORTS_FROM;
    if (aEphemeral !== c.b.port >= EPHEMERAL_PORTS_FROM) return this.inferred(c, aEphemeral ? 1 : 0, 'port_range');
    return this.inferred(c, c.b.port < c.a.port ? 1 : 0, 'lower_port');
  }

  private inferred(c: Connection, server: 0 | 1, evidence: SideEvidence): true {
    c.server = server;
    this.counters.sideInferred(evidence);
    return true;
  }

  /**
   * Detection on the bytes the newest pending segment ends, joined to the ones
   * before it in its direction while they continue each other: a message
   * may start in any of them (earlier endings were tried as they came).
   */
  private detectNewest(c: Connection): { from: 0 | 1; isRequest: boolean } | undefined {
    const newest = c.pending[c.pending.length - 1].seg;
    if (newest.payload.length === 0) return undefined;
    const from: 0 | 1 = newest.src === c.a.addr && newest.sport === c.a.port ? 0 : 1;
    const run: Uint8Array[] = [newest.payload];
    let next = newest.seq;
    for (let i = c.pending.length - 2; i >= 0; i--) {
      const s = c.pending[i].seg;
      if (s.src !== newest.src || s.sport !== newest.sport) continue;
      // contiguous and wholly captured, else the join would not be the stream's bytes
      if (((s.seq + s.payloadLength) >>> 0) !== next || s.payload.length !== s.payloadLength || !s.payloadLength) break;
      run.unshift(s.payload);
      next = s.seq;
    }
    for (let start = 0; start < run.length; start++) {
      const d = detect(Buffer.concat(run.slice(start)), ALL_PROTOCOLS);
      if (d) return { from, isRequest: d.isRequest };
    }
    return undefined;
  }

  /** No more segments are coming for `c`: what is pending is delivered, its side decided with the evidence there is. */
  private settle(c: Connection, out: NetworkRecord[]): void {
    if (c.server === undefined && c.pending.length && this.decideSide(c, true)) this.deliverPending(c, out);
  }

  private rememberListening(ep: Endpoint): void {
    const k = `${ep.addr}|${ep.port}`;
    this.listening.delete(k);
    if (this.listening.size >= this.opts.maxConnections) this.listening.delete(this.listening.values().next().value!);
    this.listening.add(k);
  }

  private keyOf(c: Connection): string {
    return `${c.a.addr}|${c.a.port}-${c.b.addr}|${c.b.port}`;
  }

  private deliver(c: Connection, d: 0 | 1, seq: number, payload: Uint8Array, length: number, ts: number, out: NetworkRecord[]): void {
    const f = c.flows[d];
    if (f.nextSeq === undefined) f.nextSeq = seq;
    const rel = (seq - f.nextSeq) | 0;
    if (rel < 0) {
      if (rel + length <= 0) {
        this.counters.retransmitted(length);
        return;
      }
      // overlaps what we already have: keep only the new bytes
      this.counters.retransmitted(-rel);
      payload = payload.subarray(Math.min(payload.length, -rel));
      length += rel;
      seq = f.nextSeq;
    } else if (rel > 0) {
      this.counters.outOfOrder();
      f.held.push({ seq, payload, length, ts });
      f.heldBytes += length;
      if (f.heldBytes > this.opts.maxOutOfOrderBytes) this.giveUpGap(c, d, out);
      return;
    }
    this.emit(c, d, seq, payload, length, ts, out);
    f.nextSeq = (seq + length) >>> 0;
    this.drainHeld(c, d, out);
  }

  /** Emits held segments that now continue the stream. */
  private drainHeld(c: Connection, d: 0 | 1, out: NetworkRecord[]): void {
    const f = c.flows[d];
    let progressed = true;
    while (progressed && f.held.length) {
      progressed = false;
      for (let i = 0; i < f.held.length; i++) {
        const h = f.held[i];
        const rel = (h.seq - f.nextSeq!) | 0;
        if (rel > 0) continue;
        f.held.splice(i, 1);
        f.heldBytes -= h.length;
        if (rel + h.length > 0) {
          const payload = h.payload.subarray(Math.min(h.payload.length, -rel));
          const length = h.length + rel;
          this.emit(c, d, f.nextSeq!, payload, length, h.ts, out);
          f.nextSeq = (f.nextSeq! + length) >>> 0;
        } else {
          this.counters.retransmitted(h.length);
        }
        progressed = true;
        break;
      }
    }
  }

  /** The missing bytes before the earliest held segment are not coming: report them as a gap, go on. */
  private giveUpGap(c: Connection, d: 0 | 1, out: NetworkRecord[]): void {
    const f = c.flows[d];
    while (f.held.length) {
      let earliest = f.held[0];
      for (const h of f.held) if (((h.seq - earliest.seq) | 0) < 0) earliest = h;
      const gap = (earliest.seq - f.nextSeq!) | 0;
      if (gap > 0) {
        this.counters.gap(gap);
        this.emit(c, d, f.nextSeq!, new Uint8Array(0), gap, earliest.ts, out);
        f.nextSeq = earliest.seq;
      }
      this.drainHeld(c, d, out);
    }
  }

  private emit(c: Connection, d: 0 | 1, seq: number, payload: Uint8Array, length: number, ts: number, out: NetworkRecord[]): void {
    const from = d === 0 ? c.a : c.b;
    for (const own of this.perspectives(c)) {
      const egress = own === d;
      out.push(this.record(c, own, egress ? FuncId.WRITE : FuncId.READ, seq, payload, length, ts, from));
    }
  }

  /** Endpoint indexes whose view of the connection becomes records. */
  private perspectives(c: Connection): Array<0 | 1> {
    const server = c.server ?? 0;
    const client = (1 - server) as 0 | 1;
    if (this.opts.perspective === 'server') return [server];
    if (this.opts.perspective === 'client') return [client];
    return [client, server];
  }

  private record(c: Connection, own: 0 | 1, funcId: number, seq: number, payload: Uint8Array, length: number, ts: number, _from: Endpoint): NetworkRecord {
    if (!c.connIds[own]) {
      const ep = own === 0 ? c.a : c.b;
      c.connIds[own] = createHash('sha1').update(`${c.a.addr}|${c.a.port}|${c.b.addr}|${c.b.port}|${c.generation}|${ep.addr}|${ep.port}`).digest('hex').slice(0, 32);
    }
    const me = own === 0 ? c.a : c.b;
    const peer = own === 0 ? c.b : c.a;
    let meta = ConnMeta.NO_TASK | (c.isV6 ? ConnMeta.IPV6 : 0);
    if (c.roleKnown) meta |= own === c.server ? ConnMeta.SERVER : ConnMeta.CLIENT;
    return {
      ts,
      tsTail: ts,
      tid: 0,
      utid: 0,
      pid: 0,
      comm: '',
      connId: c.connIds[own],
      saddr: me.addr,
      sport: me.port,
      daddr: peer.addr,
      dport: peer.port,
      netns: 0,
      connMeta: meta,
      tcpSeq: seq >>> 0,
      funcId,
      fd: -1,
      bufLen: length,
      actSize: Math.min(payload.length, length),
      index: c.indexes[own]++,
      payload: payload.length > length ? payload.subarray(0, length) : payload,
      host: this.host,
    };
  }

  /** Gives up what is held, and (when `closed`) says the connection ended. */
  private finish(key: string, c: Connection, ts: number, out: NetworkRecord[], closed: boolean): void {
    this.settle(c, out);
    this.giveUpGap(c, 0, out);
    this.giveUpGap(c, 1, out);
    if (closed && c.server !== undefined) {
      for (const own of this.perspectives(c)) out.push(this.record(c, own, FuncId.CLOSE, 0, new Uint8Array(0), 0, ts, own === 0 ? c.a : c.b));
    }
    this.conns.delete(key);
  }

  /** End of input: deliver what is held (as after gaps); connections stay open, as the capture left them. */
  flush(out: NetworkRecord[]): void {
    for (const c of this.conns.values()) {
      this.settle(c, out);
      this.giveUpGap(c, 0, out);
      this.giveUpGap(c, 1, out);
    }
  }

  get size(): number {
    return this.conns.size;
  }
}
