import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { TestScheduler } from 'rxjs/testing';
import { resolveConfig } from '../../core/config/schema';
import type { L7Message, NetworkRecord } from '../../core/signals';
import { runOperatorItems } from '../../test/helpers/sink';
import { createLogger } from '../../core/telemetry/logger';
import { ServiceMetrics, componentTelemetry } from '../../core/telemetry/metrics';
import { parseFactory, settingsFrom, type ParseConfig } from './factory';
import { ParseEngine, parseOperator, type ParseCounters } from './processor';
import { Conversation, defaultSettings } from '../../test/helpers/parse';
import { FuncId } from '../../core/records/network-data';
import * as my from '../../test/helpers/mysql-wire';

function tally(): { counters: ParseCounters; seen: Record<string, number> } {
  const seen: Record<string, number> = {};
  const add = (k: string, n: number): void => {
    seen[k] = (seen[k] ?? 0) + n;
  };
  return {
    seen,
    counters: {
      messages: (p, n) => add(`messages:${p}`, n),
      failures: (p, r, n) => add(`${p}:${r}`, n),
      undetected: (n) => add('undetected', n),
      evictedConnections: (r, n) => add(`evicted:${r}`, n),
      connections: () => {},
    },
  };
}

describe('parse processor', () => {
  it('has Collector-style defaults and refuses unknown protocols', () => {
    const ok = resolveConfig<ParseConfig>(parseFactory.schema, {});
    expect(ok.problems).to.deep.equal([]);
    expect(ok.config!.protocols).to.deep.equal(['http', 'redis', 'mysql', 'postgresql', 'http2']);
    expect(ok.config!.idle_timeout).to.equal(120000);
    expect(ok.config!.redis.keep_args).to.equal(false);
    expect(ok.config!.mysql.keep_raw_sql).to.equal(false);
    const bad = resolveConfig<ParseConfig>(parseFactory.schema, { protocols: ['http', 'kafka'] });
    expect(parseFactory.validate!(bad.config!)).to.have.length(1);
  });

  it('reads a block with every key set (testdata/config.yaml)', () => {
    const raw = YAML.parse(fs.readFileSync(path.join(__dirname, 'testdata/config.yaml'), 'utf8'));
    const r = resolveConfig<ParseConfig>(parseFactory.schema, raw);
    expect(r.problems).to.deep.equal([]);
    expect(parseFactory.validate!(r.config!)).to.deep.equal([]);
    expect(settingsFrom(r.config!)).to.deep.equal({
      protocols: ['http', 'mysql'],
      idleTimeoutMs: 90000,
      maxConnections: 4096,
      maxPendingRequests: 32,
      maxBufferedBytes: 32768,
      detectRecords: 8,
      midstreamDetectRecords: 32,
      procRoot: '/host/proc',
      redis: { keepArgs: true, maxArgs: 4, maxArgLength: 64 },
      mysql: { keepRawSql: false, maxSqlLength: 1024, maxStatements: 64 },
      http2: { maxHeaderTableSize: 8192 },
      postgresql: { maxSqlLength: 1024, maxStatements: 64 },
    });
  });

  it('emits requests left unanswered at close as no_response', async () => {
    const c = new Conversation();
    c.write('GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n');
    c.read('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    c.close();
    const ms = await runOperatorItems(parseOperator(defaultSettings()), [c.records]);
    expect(ms.map((m) => `${m.http!.path} ${m.outcome}`)).to.deep.equal(['/a ok', '/b no_response']);
  });

  it('emits what it holds when the input completes', async () => {
    const c = new Conversation();
    c.write('GET /pending HTTP/1.1\r\n\r\n');
    const ms = await runOperatorItems(parseOperator(defaultSettings()), [c.records]);
    expect(ms.map((m) => m.outcome)).to.deep.equal(['no_response']);
  });

  it('frees idle connections after idle_timeout (virtual time)', () => {
    const scheduler = new TestScheduler((a, b) => {
      expect(a).to.deep.equal(b);
    });
    const c = new Conversation();
    c.write('GET /slow HTTP/1.1\r\n\r\n');
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold<NetworkRecord[]>('a 10s |', { a: c.records });
      const out = input.pipe(parseOperator(defaultSettings({ idleTimeoutMs: 4000 }), undefined, scheduler));
      // sweeps every 2s: the connection idle since 0 is freed at the sweep at 4s
      expectObservable(out).toBe('4s x 6s |', { x: [expectedNoResponse(c.records[0])] });
    });
  });

  it('keeps at most max_connections, freeing the least recently active', () => {
    const t = tally();
    const e = new ParseEngine(defaultSettings({ maxConnections: 2 }), t.counters);
    const convs = [1, 2, 3].map((i) => new Conversation(i.toString(16).padStart(32, '0')));
    for (const c of convs) c.write('GET / HTTP/1.1\r\n\r\n');
    const out = e.add(convs.flatMap((c) => c.records), 0);
    expect(e.connectionCount).to.equal(2);
    expect(out.map((m) => m.connId)).to.deep.equal([convs[0].connId]);
    expect(t.seen['evicted:max_connections']).to.equal(1);
  });

  it('sets aside connections that speak nothing it knows, and counts them', () => {
    const t = tally();
    const e = new ParseEngine(defaultSettings(), t.counters);
    const c = new Conversation();
    for (let i = 0; i < 6; i++) c.write('\x16\x03\x01 binary stuff that is not a protocol');
    expect(e.add(c.records, 0)).to.deep.equal([]);
    expect(t.seen.undetected).to.equal(1);
  });

  it('takes the role from the first request bytes when the probe did not say', () => {
    const c = new Conversation('f'.repeat(32), 'unknown');
    const request = 'GET /in HTTP/1.1\r\n\r\n';
    const response = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    // joined mid-stream: the first exchange is counted (its response's records may not be the first of their direction), the next pairs
    c.read(request);
    c.write(response);
    c.read(request);
    c.write(response);
    const [m] = new ParseEngine(defaultSettings()).add(c.records, 0);
    expect(m.role).to.equal('server');
    expect(m.reqSeq).to.equal(5000 + request.length);
    expect(m.respSeq).to.equal(1000 + response.length);
  });

  it('skips an uncaptured body by its Content-Length and stays in step', () => {
    const t = tally();
    const c = new Conversation();
    c.write('GET /big HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n');
    const big = 'HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n' + 'z'.repeat(10000);
    c.read(big, 4096);
    c.read('HTTP/1.1 204 No Content\r\n\r\n');
    const ms = new ParseEngine(defaultSettings(), t.counters).add(c.records, 0);
    expect(ms.map((m) => `${m.http!.path} ${m.http!.status} ${m.respSeq}`)).to.deep.equal(['/big 200 5000', `/next 204 ${5000 + big.length}`]);
    expect(Object.keys(t.seen).filter((k) => k.includes('desync'))).to.deep.equal([]);
  });

  it('counts lost framing (uncaptured bytes inside a head): what was sent before the loss pairs, the rest once the directions line up', () => {
    const t = tally();
    const c = new Conversation();
    c.write('GET /a HTTP/1.1\r\nX-Long: ' + 'y'.repeat(5000) + '\r\n\r\n', 30);
    // the lost bytes may have held more requests: /b's response cannot be told from theirs
    c.write('GET /b HTTP/1.1\r\n\r\n');
    c.read('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
    c.write('GET /c HTTP/1.1\r\n\r\n');
    c.read('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n');
    const ms = new ParseEngine(defaultSettings(), t.counters).add(c.records, 0);
    expect(ms.map((m) => `${m.http!.path} ${m.http!.status}`)).to.deep.equal(['/a 200', '/c 202']);
    expect(t.seen['http:desync_gap']).to.equal(1);
    expect(t.seen['http:unpaired_request']).to.equal(1);
    expect(t.seen['http:unmatched_response']).to.equal(1);
  });

  it('starts a connection taken again after another was released with nothing of the old one', () => {
    const e = new ParseEngine(defaultSettings());
    // released with a head half read, an HTTP/1.x pairing gate, and a request waiting
    const first = new Conversation('a'.repeat(32));
    first.write('GET /old HTTP/1.1\r\n\r\n');
    first.read('HTTP/1.1 200 OK\r\nContent-');
    first.close();
    expect(e.add(first.records, 0).map((m) => `${m.http!.path} ${m.outcome}`)).to.deep.equal(['/old no_response']);
    // later batches take it again: a Redis connection, released in turn, then HTTP ones
    const redis = new Conversation('b'.repeat(32));
    redis.write('*1\r\n$4\r\nPING\r\n');
    redis.read('+PONG\r\n');
    redis.close();
    expect(e.add(redis.records, 0).map((m) => `${m.protocol} ${m.redis!.command} ${m.outcome} ${m.reqSeq} ${m.respSeq}`)).to.deep.equal(['redis PING ok 1000 5000']);
    const http = new Conversation('c'.repeat(32));
    http.write('GET /new HTTP/1.1\r\n\r\n');
    http.read('HTTP/1.1 204 No Content\r\n\r\n');
    http.close();
    // the same id again in the same batch after its close: a connection of its own
    const again = new Conversation('c'.repeat(32));
    again.write('GET /again HTTP/1.1\r\n\r\n');
    again.read('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    const opened = { ...again.records[0], funcId: FuncId.CONNECT, bufLen: 0, actSize: 0, payload: new Uint8Array(0), index: 9 };
    const out = e.add([...http.records, opened, ...again.records.map((r) => ({ ...r, index: r.index + 10 }))], 0);
    expect(out.map((m) => `${m.http!.path} ${m.http!.status} ${m.outcome}`)).to.deep.equal(['/new 204 ok', '/again 200 ok']);
  });

  it('parses connections taken again (released connections, streams and sessions) as fresh ones', () => {
    // each conversation leaves state a fresh session would not have: a database, a SELECT, a half-read message, requests waiting
    const conversations: Array<(c: Conversation) => void> = [
      (c) => {
        c.read(my.greeting(my.MYSQL8_CAPS));
        c.write(my.handshakeResponse(my.MYSQL8_CAPS, 'shop'));
        c.read(my.ok(2));
        c.write(my.query('SELECT 1'));
        c.read(my.resultSet(['a'], [['1']], true));
        c.write(my.query('SELECT 2'));
      },
      (c) => {
        c.write(my.query('SELECT v FROM t'));
        c.read(my.resultSet(['v'], [['x']], false));
      },
      (c) => {
        c.write('*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n');
        c.read('+OK\r\n');
        c.write('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
        c.read('$3\r\nab');
      },
      (c) => {
        c.write('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
        c.read('$1\r\nv\r\n');
      },
      (c) => {
        c.write('GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n');
        c.read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe');
      },
      (c) => {
        c.write('GET /c HTTP/1.1\r\n\r\n');
        c.read('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      },
    ];
    const roles = ['client', 'server', 'unknown'] as const;
    const made = (i: number, round: number): NetworkRecord[] => {
      const c = new Conversation((round * 100 + i + 1).toString(16).padStart(32, '0'), roles[(i + round) % 3]);
      conversations[i % conversations.length](c);
      c.close();
      return c.records;
    };
    const shared = new ParseEngine(defaultSettings());
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < conversations.length * 2; i++) {
        const records = made(i, round);
        const alone = new ParseEngine(defaultSettings()).add(records, 0);
        expect(shared.add(records, 0)).to.deep.equal(alone);
      }
    }
  });

  it('creates from the factory with telemetry counters', async () => {
    const metrics = new ServiceMetrics();
    const ctx = { id: 'parse', kind: 'processor' as const, logger: createLogger({ sink: { write: () => {} } }), telemetry: componentTelemetry(metrics, 'processor', 'parse'), configDir: '.' };
    const cfg = resolveConfig<ParseConfig>(parseFactory.schema, {}).config!;
    const p = parseFactory.create(cfg, ctx);
    const c = new Conversation();
    c.write('GET / HTTP/1.1\r\n\r\n');
    c.read('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    // open before the probe started: its side comes from the bytes (the records are of no process on this host)
    const old = new Conversation('e'.repeat(32), 'unknown');
    old.read('GET /old HTTP/1.1\r\n\r\n');
    const ms = await runOperatorItems(p.operator as never, [[...c.records, ...old.records]]);
    // its request is counted, not handed over: a response seen later might answer another
    expect((ms as L7Message[]).map((m) => `${m.role} ${m.outcome}`)).to.deep.equal(['client ok']);
    expect(await metrics.total('espan_parse_messages_total', { protocol: 'http' })).to.equal(1);
    expect(await metrics.total('espan_parse_failures_total', { protocol: 'http', reason: 'unpaired_request' })).to.equal(1);
    expect(await metrics.total('espan_parse_inferred_side_connections_total', { evidence: 'request_direction' })).to.equal(1);
    expect(settingsFrom(cfg).maxConnections).to.equal(16384);
  });
});

function expectedNoResponse(r: NetworkRecord): L7Message {
  return {
    protocol: 'http',
    role: 'client',
    pid: r.pid,
    tid: r.tid,
    comm: r.comm,
    connId: r.connId,
    saddr: r.saddr,
    sport: r.sport,
    daddr: r.daddr,
    dport: r.dport,
    netns: r.netns,
    connMeta: r.connMeta,
    host: r.host,
    reqStart: r.ts,
    reqEnd: r.tsTail,
    respStart: undefined,
    respEnd: undefined,
    reqSeq: r.tcpSeq,
    respSeq: undefined,
    respTid: undefined,
    utid: 0,
    respUtid: 0,
    reqTick: 0,
    respTick: 0,
    outcome: 'no_response',
    http: {
      method: 'GET',
      target: '/slow',
      path: '/slow',
      query: undefined,
      version: '1.1',
      host: undefined,
      userAgent: undefined,
      status: undefined,
      headers: {},
      requestBodySize: undefined,
      responseBodySize: undefined,
      scheme: undefined,
      reset: undefined,
    },
    redis: undefined,
    mysql: undefined,
    grpc: undefined,
    postgresql: undefined,
    threadTraceId: undefined,
    propagation: undefined,
  };
}
