import { expect } from 'chai';
import fc from 'fast-check';
import type { L7Message, NetworkRecord } from '../../../core/signals';
import { Conversation, cut, defaultSettings, insertNoise, parseTally } from '../../../test/helpers/parse';
import {
  block,
  concat,
  dynamic,
  END_HEADERS,
  END_STREAM,
  field,
  frame,
  H,
  PADDED,
  PREFACE,
  PRIORITY_FLAG,
  sampleExchange,
  settings,
  u32,
} from '../../../test/http2/conversation';
import { ParseEngine } from '../processor';
import { detectHttp2, looksLikeFrames } from './frames';

const GRPC_REQUEST = (id: number, method: string, end = false): Uint8Array =>
  frame(H.HEADERS, END_HEADERS | (end ? END_STREAM : 0), id, block(
    field(':method', 'POST', 'indexed-static'),
    field(':scheme', 'http', 'indexed-static'),
    field(':path', `/${method}`, 'incremental', true),
    field(':authority', 'grpc.local:50051', 'incremental'),
    field('content-type', 'application/grpc', 'incremental'),
    field('te', 'trailers', 'incremental'),
  ));

function run(records: NetworkRecord[], t = parseTally()): L7Message[] {
  const e = new ParseEngine(defaultSettings({ protocols: ['http', 'http2'] }), t.counters);
  return [...e.add(records, 0), ...e.flush()];
}

/** A client that writes `requests` as one record each, then reads `responses` as one record each. */
function client(requests: Uint8Array[], responses: Uint8Array[]): { conv: Conversation; records: NetworkRecord[] } {
  const conv = new Conversation('cd'.repeat(16), 'client');
  for (const r of requests) conv.write(r);
  for (const r of responses) conv.read(r);
  conv.close();
  return { conv, records: conv.records };
}

const summary = (m: L7Message) => ({
  method: m.http!.method,
  path: m.http!.path,
  status: m.http!.status,
  outcome: m.outcome,
  reqSeq: m.reqSeq,
  respSeq: m.respSeq,
});

describe('http2 parser', () => {
  it('pairs interleaved streams by id, with the sequence numbers of their HEADERS frames', () => {
    const h1 = frame(H.HEADERS, END_STREAM | END_HEADERS, 1, block(
      field(':method', 'GET', 'indexed-static'),
      field(':scheme', 'http', 'indexed-static'),
      field(':path', '/a?x=1', 'without', true),
      field(':authority', 'svc:8080', 'incremental', true),
      field('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'without'),
      field('x-datadog-trace-id', '42', 'without'),
      field('authorization', 'Bearer SECRET-TOKEN', 'incremental', true),
      field('cookie', 'SECRET-COOKIE', 'never'),
      field('user-agent', 'curl/8', 'without'),
    ));
    const h3 = frame(H.HEADERS, END_HEADERS | PRIORITY_FLAG, 3, concat(Uint8Array.from([0, 0, 0, 0, 15]), block(field(':method', 'POST', 'indexed-static'), field(':scheme', 'http', 'indexed-static'), field(':path', '/b', 'without'), dynamic(1))));
    const d3 = frame(H.DATA, END_STREAM | PADDED, 3, concat(Uint8Array.from([3]), new Uint8Array(10), new Uint8Array(3)));
    const preface = concat(PREFACE, settings([[1, 8192]]));
    const r3 = frame(H.HEADERS, END_HEADERS, 3, block(field(':status', '201', 'incremental')));
    const r1 = frame(H.HEADERS, END_HEADERS, 1, block(field(':status', '200', 'indexed-static')));
    const d1 = frame(H.DATA, END_STREAM, 1, new Uint8Array(5));
    const d3r = frame(H.DATA, END_STREAM, 3, new Uint8Array(2));
    const { records } = client([preface, concat(h1, h3), d3], [concat(settings(), r3, r1), concat(frame(H.PING, 0, 0, new Uint8Array(8)), d1, d3r)]);
    const ms = run(records);
    expect(ms.map(summary)).to.deep.equal([
      { method: 'GET', path: '/a', status: 200, outcome: 'ok', reqSeq: 1000 + preface.length, respSeq: 5000 + settings().length + r3.length },
      { method: 'POST', path: '/b', status: 201, outcome: 'ok', reqSeq: 1000 + preface.length + h1.length, respSeq: 5000 + settings().length },
    ]);
    const [a, b] = ms;
    expect(a.protocol).to.equal('http2');
    expect(a.http).to.deep.include({ target: '/a?x=1', query: 'x=1', version: '2', host: 'svc:8080', scheme: 'http', userAgent: 'curl/8', responseBodySize: 5 });
    expect(a.http!.headers).to.deep.equal({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-datadog-trace-id': '42' });
    expect(b.http).to.deep.include({ host: 'svc:8080', requestBodySize: 10, responseBodySize: 2 });
    expect(JSON.stringify(ms, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.to.match(/SECRET/);
  });

  it('joins CONTINUATION frames into one header block, and passes 1xx and PUSH_PROMISE over', () => {
    const hb = block(field(':method', 'GET', 'indexed-static'), field(':scheme', 'https', 'indexed-static'), field(':path', '/long/path/of/some/length', 'incremental', true), field(':authority', 'example.org', 'without'));
    const headers = concat(frame(H.HEADERS, END_STREAM, 1, hb.subarray(0, 5)), frame(H.CONTINUATION, 0, 1, hb.subarray(5, 9)), frame(H.CONTINUATION, END_HEADERS, 1, hb.subarray(9)));
    const push = frame(H.PUSH_PROMISE, END_HEADERS, 1, concat(Uint8Array.from(u32(2)), block(field(':method', 'GET', 'indexed-static'), field(':path', '/pushed.css', 'incremental'), field(':scheme', 'https', 'indexed-static'), field(':authority', 'example.org', 'without'))));
    const early = frame(H.HEADERS, END_HEADERS, 1, block(field(':status', '103', 'without')));
    const response = concat(
      early,
      push,
      frame(H.HEADERS, END_HEADERS, 1, block(field(':status', '404', 'indexed-static'))),
      frame(H.HEADERS, END_HEADERS, 2, block(field(':status', '200', 'indexed-static'), dynamic(0))),
      frame(H.DATA, END_STREAM, 2, new Uint8Array(4)),
      frame(H.DATA, END_STREAM, 1, new Uint8Array(1)),
    );
    const ms = run(client([concat(PREFACE, headers)], [response]).records);
    expect(ms.map((m) => [m.http!.path, m.http!.status, m.outcome, m.respSeq])).to.deep.equal([['/long/path/of/some/length', 404, 'error', 5000 + early.length + push.length]]);
  });

  it('keeps each direction\'s dynamic table: later requests refer to earlier fields', () => {
    const { requests, responses } = sampleExchange(6, 3);
    const ms = run(client([requests], [responses]).records);
    expect(ms.map((m) => [m.http!.path, m.http!.host, m.http!.userAgent, m.http!.status])).to.deep.equal(Array(6).fill(['/api/items', 'svc.local:8080', 'bench/1.0', 200]));
  });

  it('on a connection whose start was not seen, emits what is certain and counts the unknown', () => {
    const { requests, responses } = sampleExchange(8, 4);
    // drop the preface and the first four exchanges: the fields they put in the tables are unknown
    const t = parseTally();
    const conv = new Conversation('ef'.repeat(16), 'client');
    const reqFrames = splitFrames(requests.subarray(PREFACE.length));
    const respFrames = splitFrames(responses);
    conv.write(concat(...reqFrames.slice(5)));
    conv.read(concat(...respFrames.slice(9)));
    conv.close();
    const ms = run(conv.records, t);
    expect(ms.map((m) => [m.http!.method, m.http!.path, m.http!.host, m.http!.status, m.outcome])).to.deep.equal(Array(4).fill(['GET', '', undefined, 200, 'ok']));
    expect(ms[0].http!.headers).to.have.property('traceparent');
    expect(t.failures['http2:hpack_unknown']).to.equal(4 * 3 + 4);
  });

  it("holds each table to the decoder's SETTINGS_HEADER_TABLE_SIZE and the encoder's size updates", () => {
    const req = (id: number, ...extra: number[][]) => frame(H.HEADERS, END_STREAM | END_HEADERS, id, block(...extra, field(':method', 'GET', 'indexed-static'), field(':scheme', 'http', 'indexed-static'), field(':path', `/s${id}`, 'incremental')));
    const resp = (id: number, ...fields: number[][]) => frame(H.HEADERS, END_STREAM | END_HEADERS, id, block(field(':status', '200', 'indexed-static'), ...fields));
    // the client allows the server a 64-byte table: the server's 80-byte entry does not stay
    const t = parseTally();
    const { records } = client(
      [concat(PREFACE, settings([[1, 64]]), req(1), req(3), req(5, [0x20]), req(7, dynamic(1)))],
      [concat(settings(), resp(1, field('x-request-id', 'r'.repeat(47), 'incremental')), resp(3, dynamic(0)), resp(5), resp(7))],
    );
    const ms = run(records, t);
    expect(ms.map((m) => [m.http!.path, m.http!.status, m.http!.headers])).to.deep.equal([
      ['/s1', 200, {}],
      ['/s3', 200, {}],
      ['/s5', 200, {}],
      ['/s7', 200, {}],
    ]);
    // stream 3's response refers to the evicted entry; stream 7's request to one emptied by the size update to 0
    expect(t.failures['http2:hpack_unknown']).to.equal(2);
  });

  it('ends streams on RST_STREAM and GOAWAY', () => {
    const req = (id: number) => frame(H.HEADERS, END_STREAM | END_HEADERS, id, block(field(':method', 'GET', 'indexed-static'), field(':scheme', 'http', 'indexed-static'), field(':path', `/s${id}`, 'without')));
    const { records } = client([concat(PREFACE, req(1), req(3), req(5))], [concat(frame(H.RST_STREAM, 0, 1, u32(8)), frame(H.GOAWAY, 0, 0, [...u32(3), ...u32(0)]), frame(H.HEADERS, END_STREAM | END_HEADERS, 3, block(field(':status', '200', 'indexed-static'))))]);
    const ms = run(records);
    expect(ms.map((m) => [m.http!.path, m.outcome, m.http!.reset, m.http!.status])).to.deep.equal([
      ['/s1', 'error', 'CANCEL', undefined],
      ['/s5', 'no_response', undefined, undefined],
      ['/s3', 'ok', undefined, 200],
    ]);
  });

  it('reads gRPC calls: method, status from the trailers, trailers-only responses', () => {
    const ok = frame(H.HEADERS, END_STREAM | END_HEADERS, 1, block(field('grpc-status', '0', 'without'), field('grpc-message', '', 'without')));
    const failed = frame(H.HEADERS, END_STREAM | END_HEADERS, 3, block(field(':status', '200', 'indexed-static'), field('content-type', 'application/grpc', 'without'), field('grpc-status', '14', 'without'), field('grpc-message', 'backend%20down', 'without')));
    const { records } = client(
      [concat(PREFACE, GRPC_REQUEST(1, 'demo.Echo/Say'), frame(H.DATA, END_STREAM, 1, new Uint8Array(12)), GRPC_REQUEST(3, 'demo.Echo/Fail', true))],
      [concat(frame(H.HEADERS, END_HEADERS, 1, block(field(':status', '200', 'indexed-static'), field('content-type', 'application/grpc', 'without'))), frame(H.DATA, 0, 1, new Uint8Array(7)), failed, frame(H.DATA, 0, 1, new Uint8Array(7)), ok)],
    );
    const ms = run(records);
    expect(ms.map((m) => [m.grpc, m.outcome, m.http!.responseBodySize])).to.deep.equal([
      [{ method: 'demo.Echo/Fail', statusCode: 14, statusMessage: 'backend down' }, 'error', undefined],
      [{ method: 'demo.Echo/Say', statusCode: 0 }, 'ok', 14],
    ]);
  });

  it('follows an HTTP/1.1 connection upgraded to h2c', () => {
    const upgrade = 'GET / HTTP/1.1\r\nHost: h:1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n';
    const switched = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n';
    const stream1 = concat(frame(H.HEADERS, END_HEADERS, 1, block(field(':status', '200', 'indexed-static'), field('x-served-by', 'upgrade', 'incremental'))), frame(H.DATA, END_STREAM, 1, new Uint8Array(3)));
    const req3 = frame(H.HEADERS, END_STREAM | END_HEADERS, 3, block(field(':method', 'GET', 'indexed-static'), field(':scheme', 'http', 'indexed-static'), field(':path', '/after', 'without')));
    const conv = new Conversation('aa'.repeat(16), 'client');
    conv.write(upgrade);
    conv.read(concat(Buffer.from(switched, 'latin1'), settings(), stream1));
    conv.write(concat(PREFACE, settings(), req3));
    conv.read(frame(H.HEADERS, END_STREAM | END_HEADERS, 3, block(field(':status', '200', 'indexed-static'), dynamic(0))));
    conv.close();
    const ms = run(conv.records);
    expect(ms.map((m) => [m.protocol, m.http!.path, m.http!.status])).to.deep.equal([['http', '/', 101], ['http2', '/after', 200]]);
    // a 101 to anything else (WebSocket) ends parsing as before
    const ws = new Conversation('bb'.repeat(16), 'client');
    ws.write('GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    ws.read('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    ws.write(concat(PREFACE, settings(), req3));
    ws.close();
    expect(run(ws.records).map((m) => m.protocol)).to.deep.equal(['http']);
  });

  it('recognises HTTP/2 by its preface, a first SETTINGS, or header blocks', () => {
    expect(detectHttp2(PREFACE, 0, PREFACE.length)).to.equal('request');
    const s = settings([[3, 100]]);
    expect(detectHttp2(s, 0, s.length)).to.equal('response');
    const withWindow = concat(s, frame(H.WINDOW_UPDATE, 0, 0, u32(1 << 20)));
    expect(detectHttp2(withWindow, 0, withWindow.length)).to.equal('response');
    const { requests, responses } = sampleExchange(8, 4);
    const later = concat(...splitFrames(requests.subarray(PREFACE.length)).slice(5));
    expect(detectHttp2(later, 0, later.length)).to.equal('request');
    const resp = concat(...splitFrames(responses).slice(9));
    expect(detectHttp2(resp, 0, resp.length)).to.equal('response');
    for (const text of ['GET / HTTP/1.1\r\n\r\n', '*1\r\n$4\r\nPING\r\n', '\x01\x00\x00\x00\x01', 'HTTP/1.1 200 OK\r\n']) {
      const b = Buffer.from(text, 'latin1');
      expect(detectHttp2(b, 0, b.length), text).to.equal(undefined);
      expect(looksLikeFrames(b, 0, b.length), text).to.equal(false);
    }
  });

  describe('properties', () => {
    const exchanges = fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: 4 })));

    it('a stream split across any record boundary gives the same messages and sequence numbers', () => {
      fc.assert(
        fc.property(exchanges, fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 12 }), ([n, k], rc, sc) => {
          const { requests, responses } = sampleExchange(n, k);
          const whole = run(client([requests], [responses]).records).map(summary);
          const pieces = run(client(cut(requests, rc), cut(responses, sc)).records).map(summary);
          expect(whole).to.have.length(n);
          expect(pieces).to.deep.equal(whole);
        }),
        { numRuns: 3000 },
      );
    });

    it('cut or damaged conversations never throw', () => {
      fc.assert(
        fc.property(exchanges, fc.uint8Array({ maxLength: 24 }), fc.nat(), fc.nat(), fc.boolean(), ([n, k], noise, where, cutAt, inRequest) => {
          const { requests, responses } = sampleExchange(n, k);
          const req = inRequest ? insertNoise(requests, noise, where) : requests;
          const resp = inRequest ? responses : insertNoise(responses, noise, where);
          run(client(cut(req, [cutAt]), cut(resp, [cutAt * 7])).records);
        }),
        { numRuns: 20000 },
      );
    });
  });
});

/** The frames of a byte string of whole frames. */
function splitFrames(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const len = (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2];
    out.push(bytes.subarray(at, at + 9 + len));
    at += 9 + len;
  }
  return out;
}
