/**
 * Parser test helpers: records made from byte chunks, as a probe on one end of
 * a connection would produce them, and the parse processor's default settings.
 */
import { ConnMeta, FuncId } from '../../core/records/network-data';
import { expect } from 'chai';
import type { HostInfo, L7Message, NetworkRecord } from '../../core/signals';
import type { ParseCounters, ParseSettings } from '../../processors/parse/processor';

const CONVERSATION_HOST: HostInfo = { hostId: 'test-host', hostName: 'test', bootTimeUnixNano: 0n };

/** What a parse engine reported, tallied: failures by `protocol:reason`, undetected connections, inferred sides by evidence. */
export interface ParseTally {
  failures: Record<string, number>;
  undetected: number;
  sides: Record<string, number>;
  counters: ParseCounters;
}

export function parseTally(): ParseTally {
  const t: ParseTally = {
    failures: {},
    undetected: 0,
    sides: {},
    counters: {
      messages: () => {},
      failures: (p, reason, n) => (t.failures[`${p}:${reason}`] = (t.failures[`${p}:${reason}`] ?? 0) + n),
      undetected: (n) => (t.undetected += n),
      evictedConnections: () => {},
      connections: () => {},
      inferredSide: (evidence, n) => (t.sides[evidence] = (t.sides[evidence] ?? 0) + n),
    },
  };
  return t;
}

export function defaultSettings(over: Partial<ParseSettings> = {}): ParseSettings {
  return {
    protocols: ['http', 'redis', 'mysql'],
    idleTimeoutMs: 120000,
    maxConnections: 1024,
    maxPendingRequests: 128,
    maxBufferedBytes: 65536,
    detectRecords: 4,
    redis: { keepArgs: false, maxArgs: 16, maxArgLength: 128 },
    mysql: { keepRawSql: false, maxSqlLength: 2048, maxStatements: 256 },
    http2: { maxHeaderTableSize: 65536 },
    postgresql: { maxSqlLength: 2048, maxStatements: 256 },
    ...over,
  };
}

/** One side of a connection: `write` and `read` make egress/ingress records with running sequence numbers. */
export class Conversation {
  private index = 0;
  private seqOut: number;
  private seqIn: number;
  private t = 1000;
  readonly records: NetworkRecord[] = [];

  constructor(
    readonly connId = '0'.repeat(31) + '1',
    readonly role: 'client' | 'server' | 'unknown' = 'client',
    seqOut = 1000,
    seqIn = 5000,
  ) {
    this.seqOut = seqOut;
    this.seqIn = seqIn;
  }

  private make(funcId: number, payload: Uint8Array, bufLen: number, seq: number): NetworkRecord {
    const meta = this.role === 'client' ? ConnMeta.CLIENT : this.role === 'server' ? ConnMeta.SERVER : 0;
    const ts = (this.t += 10);
    const r: NetworkRecord = {
      ts,
      tsTail: ts + 5,
      tid: 42,
      utid: 0,
      pid: 7,
      comm: 'test',
      connId: this.connId,
      saddr: '127.0.0.1',
      sport: 40000,
      daddr: '127.0.0.1',
      dport: 80,
      netns: 1,
      connMeta: meta,
      tcpSeq: seq >>> 0,
      funcId,
      fd: 3,
      bufLen,
      actSize: payload.length,
      index: this.index++,
      payload,
      host: CONVERSATION_HOST,
    };
    this.records.push(r);
    return r;
  }

  /** `captured`: bytes the probe kept (the rest were moved but not captured) */
  write(data: Uint8Array | string, captured?: number): NetworkRecord {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const keep = captured === undefined ? b : b.subarray(0, captured);
    const r = this.make(FuncId.WRITE, keep, b.length, this.seqOut);
    this.seqOut += b.length;
    return r;
  }

  read(data: Uint8Array | string, captured?: number): NetworkRecord {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const keep = captured === undefined ? b : b.subarray(0, captured);
    const r = this.make(FuncId.READ, keep, b.length, this.seqIn);
    this.seqIn += b.length;
    return r;
  }

  close(): NetworkRecord {
    return this.make(FuncId.CLOSE, new Uint8Array(0), 0, this.seqOut);
  }
}

/** `target` with `noise` inserted at `where` (modulo its length + 1): a damaged conversation for property tests. */
export function insertNoise(target: Uint8Array, noise: Uint8Array, where: number): Uint8Array {
  const at = where % (target.length + 1);
  const mutated = new Uint8Array(target.length + noise.length);
  mutated.set(target.subarray(0, at), 0);
  mutated.set(noise, at);
  mutated.set(target.subarray(at), at + noise.length);
  return mutated;
}

/** Cuts `bytes` at the given points (any numbers; taken modulo the length, sorted). */
export function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => (bytes.length ? p % bytes.length : 0)))].filter((p) => p > 0).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of at) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out.filter((c) => c.length > 0);
}

/**
 * A client's view of a conversation: every request chunk written, then every
 * response chunk read, then close. Returns the records.
 */
export function clientRecords(requestChunks: Uint8Array[], responseChunks: Uint8Array[], role: 'client' | 'server' | 'unknown' = 'client'): NetworkRecord[] {
  const c = new Conversation('ab'.repeat(16), role);
  for (const ch of requestChunks) c.write(ch);
  for (const ch of responseChunks) c.read(ch);
  c.close();
  return c.records;
}

/**
 * Records lost in the kernel never give a wrong pairing: every message is a
 * request that was sent (`truth`: each exchange's first request and response
 * sequence numbers), once, with its own response or none.
 */
export function expectOwnResponses(ms: readonly L7Message[], truth: readonly { reqSeq: number; respSeq: number }[], request: string): void {
  const bySeq = new Map(truth.map((t) => [t.reqSeq, t]));
  const seen = new Set<number>();
  for (const m of ms) {
    const t = bySeq.get(m.reqSeq);
    expect(t, `a message no ${request} started: ${m.reqSeq}`).to.not.equal(undefined);
    expect(seen.has(m.reqSeq), `one message per ${request}`).to.equal(false);
    seen.add(m.reqSeq);
    if (m.outcome !== 'no_response') expect(m.respSeq, `the response of the ${request} at ${m.reqSeq}`).to.equal(t!.respSeq);
  }
}
