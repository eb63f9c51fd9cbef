import { expect } from 'chai';
import { ConnMeta } from '../../core/records/network-data';
import { DEFAULT_SENSITIVE_QUERY_PARAMETERS, sensitiveParameterSet } from '../../core/redaction';
import { ESPAN, ESPAN_SCOPE } from '../../core/semconv';
import { SpanKind, StatusCode, type L7Message, type Span } from '../../core/signals';
import { runOperatorItems } from '../../test/helpers/sink';
import { clientCall, HOST, message, serverRequest } from '../../test/spans/messages';
import { ParseEngine } from '../parse/processor';
import { clientRecords, defaultSettings } from '../../test/helpers/parse';
import { messagesToSpans, toSpan } from './spans';
import { ResourceCache } from './resource';

const OPTS = { sensitiveQueryParameters: sensitiveParameterSet(DEFAULT_SENSITIVE_QUERY_PARAMETERS) };

function cache(): ResourceCache {
  // no /proc: every process is as the message describes it
  return new ResourceCache({ serviceNameEnv: ['OTEL_SERVICE_NAME'], commandLine: true, maxProcesses: 100, refreshMs: 1000, procRoot: '/nonexistent', localHostId: 'elsewhere' });
}

function span(m: L7Message): Span {
  return toSpan(m, cache(), OPTS);
}

const NETWORK_IPV4_TCP = { 'network.transport': 'tcp', 'network.type': 'ipv4' };

describe('span_builder: HTTP server spans', () => {
  const m = serverRequest(7, 1_000_000, 5_000_000, {
    pid: 4242,
    saddr: '10.0.0.5',
    sport: 8080,
    daddr: '10.0.0.9',
    dport: 51000,
    reqSeq: 111,
    respSeq: 222,
    threadTraceId: 'a'.repeat(32),
    http: {
      method: 'GET',
      target: '/users/42?limit=10&token=s3cr3t',
      path: '/users/42',
      query: 'limit=10&token=s3cr3t',
      version: '1.1',
      host: 'api.example.com:8080',
      userAgent: 'curl/8.5.0',
      status: 200,
      headers: { authorization: 'Bearer abc', cookie: 'session=xyz' },
      responseBodySize: 17,
    },
  });
  const s = span(m);

  it('names, kinds and times the span', () => {
    expect(s.name).to.equal('GET');
    expect(s.kind).to.equal(SpanKind.SERVER);
    expect(s.startTimeUnixNano).to.equal(HOST.bootTimeUnixNano + 1_000_000n);
    expect(s.endTimeUnixNano).to.equal(HOST.bootTimeUnixNano + 5_000_005n);
    expect(s.spanId).to.match(/^[0-9a-f]{16}$/);
    expect(s.traceId).to.equal('');
    expect(s.status).to.deep.equal({ code: StatusCode.UNSET });
    expect(s.scope).to.equal(ESPAN_SCOPE);
  });

  it('sets exactly the HTTP server attributes and link keys', () => {
    expect(s.attributes).to.deep.equal({
      'http.request.method': 'GET',
      'network.protocol.version': '1.1',
      'url.scheme': 'http',
      'url.path': '/users/42',
      'url.query': 'limit=10&token=REDACTED',
      'server.address': 'api.example.com',
      'server.port': 8080,
      'client.address': '10.0.0.9',
      'client.port': 51000,
      'network.peer.address': '10.0.0.9',
      'network.peer.port': 51000,
      ...NETWORK_IPV4_TCP,
      'user_agent.original': 'curl/8.5.0',
      'http.response.body.size': 17,
      'http.response.status_code': 200,
      [ESPAN.CAPTURED]: true,
      [ESPAN.HOST_ID]: HOST.hostId,
      [ESPAN.CONN_KEY]: '10.0.0.5:8080-10.0.0.9:51000',
      [ESPAN.REQ_SEQ]: 111,
      [ESPAN.RESP_SEQ]: 222,
      [ESPAN.NETNS]: m.netns,
      [ESPAN.TID]: 7,
      [ESPAN.THREAD_TRACE_ID]: 'a'.repeat(32),
    });
  });

  it('gives the same span id for the same message', () => {
    expect(span(m).spanId).to.equal(s.spanId);
    expect(span({ ...m, reqSeq: 112 }).spanId).to.not.equal(s.spanId);
  });

  it('marks 5xx an error and leaves 4xx unset on servers', () => {
    const e = span({ ...m, http: { ...m.http!, status: 503 } });
    expect(e.status.code).to.equal(StatusCode.ERROR);
    expect(e.attributes['error.type']).to.equal('503');
    const notFound = span({ ...m, http: { ...m.http!, status: 404 } });
    expect(notFound.status.code).to.equal(StatusCode.UNSET);
    expect(notFound.attributes['error.type']).to.equal(undefined);
  });

  it('names unknown methods HTTP with _OTHER', () => {
    const o = span({ ...m, http: { ...m.http!, method: 'PURGE' } });
    expect(o.name).to.equal('HTTP');
    expect(o.attributes['http.request.method']).to.equal('_OTHER');
    expect(o.attributes['http.request.method_original']).to.equal('PURGE');
  });

  it('uses the local endpoint as server address without a Host header', () => {
    const o = span({ ...m, http: { ...m.http!, host: undefined } });
    expect(o.attributes['server.address']).to.equal('10.0.0.5');
    expect(o.attributes['server.port']).to.equal(8080);
  });
});

describe('span_builder: HTTP client spans', () => {
  const m = clientCall(9, 2_000_000, 3_000_000, {
    protocol: 'http',
    saddr: '10.0.0.5',
    sport: 40001,
    daddr: '10.0.0.7',
    dport: 80,
    http: { method: 'post', target: '/v1/pay?sig=abc&x=1', path: '/v1/pay', query: 'sig=abc&x=1', version: 'HTTP/1.1', host: 'pay.internal', status: 404, headers: {}, requestBodySize: 5 },
  });
  const s = span(m);

  it('sets the client attributes with url.full', () => {
    expect(s.kind).to.equal(SpanKind.CLIENT);
    expect(s.name).to.equal('POST');
    expect(s.attributes).to.include({
      'http.request.method': 'POST',
      'http.request.method_original': 'post',
      'network.protocol.version': '1.1',
      'url.full': 'http://pay.internal/v1/pay?sig=REDACTED&x=1',
      'url.path': '/v1/pay',
      'url.query': 'sig=REDACTED&x=1',
      'server.address': 'pay.internal',
      'server.port': 80,
      'network.peer.address': '10.0.0.7',
      'network.peer.port': 80,
      'http.request.body.size': 5,
      'http.response.status_code': 404,
      'error.type': '404',
    });
    expect(s.attributes).to.not.have.property('client.address');
  });

  it('marks 4xx an error on clients', () => {
    expect(s.status.code).to.equal(StatusCode.ERROR);
  });

  it('reports a call that got no response', () => {
    const n = span({ ...m, outcome: 'no_response', respStart: undefined, respEnd: undefined, http: { ...m.http!, status: undefined } });
    expect(n.status.code).to.equal(StatusCode.ERROR);
    expect(n.attributes['error.type']).to.equal('no_response');
    expect(n.endTimeUnixNano).to.equal(HOST.bootTimeUnixNano + BigInt(m.reqEnd));
  });

  it('brackets IPv6 hosts and keeps non-default ports in url.full', () => {
    const v6 = span({ ...m, daddr: 'fd00::7', dport: 8080, connMeta: ConnMeta.IPV6, http: { ...m.http!, host: undefined } });
    expect(v6.attributes['url.full']).to.equal('http://[fd00::7]:8080/v1/pay?sig=REDACTED&x=1');
    expect(v6.attributes['network.type']).to.equal('ipv6');
  });
});

describe('span_builder: database spans', () => {
  it('Redis client', () => {
    const m = clientCall(3, 10, 20, { daddr: '127.0.0.1', dport: 6379, redis: { command: 'HGETALL', db: 2, args: ['user:1'] } });
    const s = span(m);
    expect(s.name).to.equal('HGETALL');
    expect(s.kind).to.equal(SpanKind.CLIENT);
    expect(s.attributes).to.include({
      'db.system.name': 'redis',
      'db.operation.name': 'HGETALL',
      'db.namespace': '2',
      'db.query.text': 'HGETALL ?',
      'server.address': '127.0.0.1',
      'server.port': 6379,
      'network.peer.address': '127.0.0.1',
      'network.peer.port': 6379,
    });
    expect(s.status.code).to.equal(StatusCode.UNSET);
  });

  it('Redis error replies', () => {
    const s = span(clientCall(3, 10, 20, { outcome: 'error', redis: { command: 'INCR', db: 0, errorPrefix: 'WRONGTYPE', errorMessage: 'WRONGTYPE Operation against a key holding the wrong kind of value' } }));
    expect(s.attributes['db.response.status_code']).to.equal('WRONGTYPE');
    expect(s.attributes['error.type']).to.equal('WRONGTYPE');
    expect(s.status).to.deep.equal({ code: StatusCode.ERROR, message: 'WRONGTYPE Operation against a key holding the wrong kind of value' });
  });

  it('Redis AUTH never shows its arguments', () => {
    const s = span(clientCall(3, 10, 20, { redis: { command: 'AUTH', db: 0, args: ['default', 'hunter2'] } }));
    expect(JSON.stringify(s.attributes)).to.not.include('hunter2');
    expect(s.attributes).to.not.have.property('db.query.text');
  });

  it('Redis server side uses the local endpoint', () => {
    const s = span(message({ role: 'server', tid: 5, reqStart: 10, saddr: '127.0.0.1', sport: 6379, daddr: '127.0.0.1', dport: 45000, protocol: 'redis', redis: { command: 'GET', db: 0 } }));
    expect(s.kind).to.equal(SpanKind.SERVER);
    expect(s.attributes).to.include({ 'server.address': '127.0.0.1', 'server.port': 6379, 'network.peer.port': 45000 });
  });

  it('MySQL query', () => {
    const m = clientCall(3, 10, 20, {
      protocol: 'mysql',
      dport: 3306,
      mysql: { command: 'COM_QUERY', sql: "SELECT name FROM users WHERE id = ? AND email = 'a@b.c'", operation: 'SELECT', summary: 'SELECT users', database: 'shop', rows: 1 },
    });
    const s = span(m);
    expect(s.name).to.equal('SELECT users');
    expect(s.attributes).to.include({
      'db.system.name': 'mysql',
      'db.operation.name': 'SELECT',
      'db.namespace': 'shop',
      'db.query.text': 'SELECT name FROM users WHERE id = ? AND email = ?',
      'db.query.summary': 'SELECT users',
      'db.response.returned_rows': 1,
      'server.port': 3306,
    });
  });

  it('MySQL errors and names without a summary', () => {
    const s = span(clientCall(3, 10, 20, { protocol: 'mysql', outcome: 'error', mysql: { command: 'COM_QUERY', sql: 'SELECT * FROM nope', operation: 'SELECT', database: 'shop', errorCode: 1146, sqlState: '42S02', errorMessage: "Table 'shop.nope' doesn't exist" } }));
    expect(s.name).to.equal('SELECT shop');
    expect(s.attributes['db.response.status_code']).to.equal('1146');
    expect(s.attributes['error.type']).to.equal('1146');
    expect(s.status.code).to.equal(StatusCode.ERROR);
    const ping = span(clientCall(3, 10, 20, { protocol: 'mysql', mysql: { command: 'COM_PING' } }));
    expect(ping.name).to.equal('COM_PING');
  });
});

describe('span_builder: propagation and no-task spans', () => {
  it('puts the propagated context on the span', () => {
    const m = serverRequest(7, 1, 5, { propagation: { format: 'datadog', traceId: '0'.repeat(16) + 'f'.repeat(16), parentSpanId: '0020000000000001', sampled: false, priority: 0 } });
    const s = span(m);
    expect(s.traceId).to.equal('0'.repeat(16) + 'f'.repeat(16));
    expect(s.parentSpanId).to.equal('0020000000000001');
    expect(s.flags).to.equal(0);
    expect(s.attributes).to.include({ [ESPAN.PROPAGATION]: 'datadog', [ESPAN.PROPAGATED_SAMPLED]: false, [ESPAN.PROPAGATED_PRIORITY]: 0 });
  });

  it('takes only the trace id and decision from an outgoing request\'s headers', () => {
    const s = span(clientCall(7, 1, 5, { propagation: { format: 'w3c', traceId: 'b'.repeat(32), parentSpanId: 'c'.repeat(16), sampled: true } }));
    expect(s.traceId).to.equal('b'.repeat(32));
    expect(s.parentSpanId).to.equal(undefined);
    expect(s.flags).to.equal(1);
  });

  it('marks pcap-origin spans and keys their resource by endpoint', () => {
    const c = cache();
    const a = toSpan(serverRequest(0, 1, 5, { pid: 0, connMeta: ConnMeta.NO_TASK, saddr: '10.1.1.1', sport: 80 }), c, OPTS);
    const b = toSpan(serverRequest(0, 7, 9, { pid: 0, connMeta: ConnMeta.NO_TASK, saddr: '10.1.1.1', sport: 80 }), c, OPTS);
    expect(a.attributes[ESPAN.NO_TASK]).to.equal(true);
    expect(a.attributes).to.not.have.property(ESPAN.TID);
    expect(a.resource).to.equal(b.resource);
    expect(a.resource.attributes).to.include({ 'service.name': 'unknown_service:10.1.1.1:80', [ESPAN.NO_TASK]: true });
  });

  it('never emits secrets anywhere in a batch of spans', async () => {
    const secretHeaders = { authorization: 'Basic c2VjcmV0', cookie: 'sid=SECRETCOOKIE', 'x-request-id': 'r1' };
    const out = await runOperatorItems(messagesToSpans(cache(), OPTS), [
      [
        serverRequest(1, 1, 2, { http: { method: 'GET', target: '/?password=SECRETPW', path: '/', query: 'password=SECRETPW', version: '1.1', headers: secretHeaders, status: 200 } }),
        clientCall(1, 1, 2, { protocol: 'redis', redis: { command: 'AUTH', db: 0, args: ['SECRETPW'] } }),
        clientCall(1, 1, 2, { protocol: 'redis', redis: { command: 'SET', db: 0, args: ['k', 'SECRETVALUE'] } }),
        clientCall(1, 1, 2, { protocol: 'mysql', mysql: { command: 'COM_QUERY', sql: "UPDATE users SET password = 'SECRETPW' WHERE id = 5", operation: 'UPDATE' } }),
      ],
    ]);
    const text = JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    for (const secret of ['SECRETPW', 'SECRETCOOKIE', 'c2VjcmV0', 'SECRETVALUE', 'Basic', 'sid=']) expect(text).to.not.include(secret);
    expect(out).to.have.length(4);
  });

  it('counts and skips a malformed message instead of failing the pipeline', async () => {
    let malformed = 0;
    const broken = { ...serverRequest(1, 1, 2), host: undefined } as unknown as L7Message;
    const out = await runOperatorItems(messagesToSpans(cache(), OPTS, { spans: () => {}, malformed: (n) => (malformed += n) }), [[broken, serverRequest(1, 3, 4)]]);
    expect(out).to.have.length(1);
    expect(malformed).to.equal(1);
  });
});

describe('span_builder: one redaction with the parse processor', () => {
  const b = (x: string | Buffer): Uint8Array => (typeof x === 'string' ? Buffer.from(x, 'latin1') : x);
  const resp = (...a: string[]): string => `*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('');
  const mysqlQuery = (sql: string): Buffer => {
    const body = Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]);
    return Buffer.concat([Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, body.length >> 16, 0]), body]);
  };
  const mysqlOk = Buffer.from([7, 0, 0, 1, 0x00, 0, 0, 2, 0, 0, 0]);

  function parsed(request: Uint8Array, response: Uint8Array, over: Parameters<typeof defaultSettings>[0]): L7Message[] {
    return new ParseEngine(defaultSettings(over)).add(clientRecords([request], [response]), 0);
  }

  it('keeps no Redis password in messages or spans with keep_args (ACL SETUSER, CONFIG SET requirepass)', () => {
    const messages = parsed(b(resp('ACL', 'SETUSER', 'alice', 'on', '>pw-acl', '~*', '+@all') + resp('CONFIG', 'SET', 'requirepass', 'pw-config')), b('+OK\r\n+OK\r\n'), {
      redis: { keepArgs: true, maxArgs: 16, maxArgLength: 128 },
    });
    expect(messages.map((m) => m.redis!.command)).to.deep.equal(['ACL SETUSER', 'CONFIG SET']);
    const spans = messages.map(span);
    const text = JSON.stringify({ messages, spans }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    expect(text).to.not.include('pw-');
    for (const s of spans) expect(s.attributes).to.not.have.property('db.query.text');
  });

  it('gives the same db.query.text whatever mysql.keep_raw_sql says: one definition of SQL without literals', () => {
    const sql = "SELECT  name FROM users /* by alice */ WHERE email = 'a@x.io' AND flags = b'0101' AND delta > -5 -- adult\n";
    const sanitised = parsed(mysqlQuery(sql), mysqlOk, {});
    const raw = parsed(mysqlQuery(sql), mysqlOk, { mysql: { keepRawSql: true, maxSqlLength: 2048, maxStatements: 8 } });
    // keep_raw_sql keeps the literals (comments still go)
    expect(raw[0].mysql!.sql).to.equal("SELECT name FROM users WHERE email = 'a@x.io' AND flags = b'0101' AND delta > -5");
    expect(sanitised[0].mysql!.sql).to.equal('SELECT name FROM users WHERE email = ? AND flags = ? AND delta > ?');
    expect(span(sanitised[0]).attributes['db.query.text']).to.equal(sanitised[0].mysql!.sql);
    expect(span(raw[0]).attributes['db.query.text']).to.equal(sanitised[0].mysql!.sql);
  });
});
