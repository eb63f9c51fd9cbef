import { expect } from 'chai';
import fc from 'fast-check';
import { ParseEngine, type ParseCounters } from '../processor';
import { clientRecords, cut, defaultSettings, insertNoise } from '../../../test/helpers/parse';
import { BodyKind, looksLikeRequestLine, looksLikeStatusLine, parseChunkLine, parseRequestHead, parseResponseHead, splitTarget, type HttpRequestHead, type HttpResponseHead } from './parser';
import { INVALID, NEED_MORE } from '../decoder';
import { SECRET_HTTP_HEADERS } from '../../../core/redaction';
import type { L7Message } from '../../../core/signals';

const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('http parser', () => {
  it('decodes a request head: target, host, user agent, propagation headers only', () => {
    const raw = b(
      'GET /api/v1/users?id=7&x=1 HTTP/1.1\r\nHOST: example.com\r\nUser-Agent: curl/8.0\r\nTraceParent: 00-abc-def-01\r\ntracestate: a=1\r\ntracestate: b=2\r\n' +
        'X-Datadog-Trace-Id: 12\r\nb3: 1-2-1\r\nX-B3-Sampled: 1\r\nx-request-id: r1\r\nAuthorization: Bearer secret\r\nCookie: s=secret\r\nAccept: */*\r\n\r\n',
    );
    const h = parseRequestHead(raw, 0, raw.length) as HttpRequestHead;
    expect(h.method).to.equal('GET');
    expect(h.target).to.equal('/api/v1/users?id=7&x=1');
    expect(h.host).to.equal('example.com');
    expect(h.userAgent).to.equal('curl/8.0');
    expect(h.headLength).to.equal(raw.length);
    expect(h.bodyKind).to.equal(BodyKind.NONE);
    expect(h.headers).to.deep.equal({
      traceparent: '00-abc-def-01',
      tracestate: 'a=1,b=2',
      'x-datadog-trace-id': '12',
      b3: '1-2-1',
      'x-b3-sampled': '1',
      'x-request-id': 'r1',
    });
    expect(JSON.stringify(h)).not.to.include('secret');
    expect(splitTarget(h.target)).to.deep.equal({ path: '/api/v1/users', query: 'id=7&x=1' });
    expect(splitTarget('http://h:80/p?q')).to.deep.equal({ path: '/p', query: 'q' });
  });

  it('never reads a credential header, of a request or a response', () => {
    const secrets = SECRET_HTTP_HEADERS.map((name, i) => `${name}: secret-${i}\r\n`).join('');
    const req = b(`GET / HTTP/1.1\r\n${secrets}\r\n`);
    const resp = b(`HTTP/1.1 200 OK\r\n${secrets}content-length: 0\r\n\r\n`);
    expect(JSON.stringify([parseRequestHead(req, 0, req.length), parseResponseHead(resp, 0, resp.length, 'GET')])).not.to.include('secret-');
  });

  it('frames bodies by Content-Length or chunked encoding', () => {
    const cl = b('POST /x HTTP/1.1\r\ncontent-length: 11\r\n\r\nhello world');
    expect((parseRequestHead(cl, 0, cl.length) as HttpRequestHead).contentLength).to.equal(11);
    const ch = b('POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n');
    expect((parseRequestHead(ch, 0, ch.length) as HttpRequestHead).bodyKind).to.equal(BodyKind.CHUNKED);
    expect(parseChunkLine(b('1a;ext=1\r\n'), 0, 10)).to.deep.equal({ lineLength: 10, size: 26 });
    expect(parseChunkLine(b('1a'), 0, 2)).to.equal(NEED_MORE);
    expect(parseChunkLine(b('zz\r\n'), 0, 4)).to.equal(INVALID);
  });

  it('knows responses without bodies: 1xx, 204, 304, and any answer to HEAD', () => {
    const r = (s: string, m?: string): HttpResponseHead => parseResponseHead(b(s), 0, s.length, m) as HttpResponseHead;
    expect(r('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'HEAD').bodyKind).to.equal(BodyKind.NONE);
    expect(r('HTTP/1.1 204 No Content\r\n\r\n').bodyKind).to.equal(BodyKind.NONE);
    expect(r('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n').bodyKind).to.equal(BodyKind.NONE);
    expect(r('HTTP/1.1 100 Continue\r\n\r\n').status).to.equal(100);
    expect(r('HTTP/1.0 200 OK\r\n\r\n').bodyKind).to.equal(BodyKind.UNTIL_CLOSE);
    expect(r('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n').close).to.equal(true);
  });

  it('waits for more bytes, refuses what is not HTTP', () => {
    const part = b('GET /x HTTP/1.1\r\nHost: a\r\n');
    expect(parseRequestHead(part, 0, part.length)).to.equal(NEED_MORE);
    expect(parseRequestHead(b('GE'), 0, 2)).to.equal(NEED_MORE);
    expect(parseRequestHead(b('\x16\x03\x01\x02\x00'), 0, 5)).to.equal(INVALID);
    expect(parseResponseHead(b('HTTP/2 200\r\n\r\n'), 0, 14, undefined)).to.equal(INVALID);
  });

  it('tells a start line from bytes inside a message that look like one', () => {
    const request = (s: string): boolean => looksLikeRequestLine(b(s), 0, s.length);
    const status = (s: string): boolean => looksLikeStatusLine(b(s), 0, s.length);
    expect(request('GET /x HTTP/1.1\r\nHost: a\r\n')).to.equal(true);
    expect(request('POST /upload?id=1 HTTP/1.0\r\n')).to.equal(true);
    expect(request('GET /x')).to.equal(true); // the line's end not there yet: cannot tell
    expect(request('GET it now\r\n')).to.equal(false); // a body line
    expect(request('get /x HTTP/1.1\r\n')).to.equal(false);
    expect(status('HTTP/1.1 200 OK\r\n')).to.equal(true);
    expect(status('HTTP/1.0 404 ')).to.equal(true);
    expect(status('HTTP/1.1\r\nHost: h\r\n\r\n')).to.equal(false); // the tail of a request line
    expect(status('HTTP/1.1 2')).to.equal(false);
  });
});

// ---- properties

interface Exchange {
  method: string;
  path: string;
  body: { kind: 'none' | 'length' | 'chunked'; chunks: string[] };
  interim: boolean;
  status: number;
  respBody: { kind: 'length' | 'chunked'; chunks: string[] };
  traceparent: boolean;
}

const token = fc.string({ unit: fc.constantFrom(...'abcdefgh0123456789-'.split('')), maxLength: 8 });
const bodyChunks = fc.array(fc.string({ unit: fc.constantFrom(...'xyz\r\n0'.split('')), minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 });
const exchange: fc.Arbitrary<Exchange> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD'),
  path: token.map((t) => `/${t}`),
  body: fc.record({ kind: fc.constantFrom('none' as const, 'length' as const, 'chunked' as const), chunks: bodyChunks }),
  interim: fc.boolean(),
  status: fc.constantFrom(200, 201, 204, 304, 404, 500),
  respBody: fc.record({ kind: fc.constantFrom('length' as const, 'chunked' as const), chunks: bodyChunks }),
  traceparent: fc.boolean(),
});

function body(kind: 'none' | 'length' | 'chunked', chunks: string[]): { head: string; bytes: string } {
  if (kind === 'none') return { head: '', bytes: '' };
  if (kind === 'length') {
    const all = chunks.join('');
    return { head: `Content-Length: ${all.length}\r\n`, bytes: all };
  }
  return { head: 'Transfer-Encoding: chunked\r\n', bytes: chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n' };
}

function serialise(xs: Exchange[]): { req: Uint8Array; resp: Uint8Array; expected: string[] } {
  let req = '';
  let resp = '';
  const expected: string[] = [];
  for (const x of xs) {
    const rb = body(x.body.kind, x.body.chunks);
    req += `${x.method} ${x.path} HTTP/1.1\r\nhost: h\r\n${x.traceparent ? 'traceparent: 00-1-2-01\r\n' : ''}Authorization: secret\r\n${rb.head}\r\n${rb.bytes}`;
    if (x.interim) resp += 'HTTP/1.1 100 Continue\r\n\r\n';
    const noBody = x.method === 'HEAD' || x.status === 204 || x.status === 304;
    const sb = body(noBody ? 'none' : x.respBody.kind, x.respBody.chunks);
    const announced = x.method === 'HEAD' && x.respBody.kind === 'length' ? `Content-Length: ${x.respBody.chunks.join('').length}\r\n` : sb.head;
    resp += `HTTP/1.1 ${x.status} S\r\nServer: t\r\n${announced}\r\n${sb.bytes}`;
    expected.push(`${x.method} ${x.path} ${x.status} ${x.status >= 400 ? 'error' : 'ok'}${x.traceparent ? ' tp' : ''}`);
  }
  return { req: Buffer.from(req, 'latin1'), resp: Buffer.from(resp, 'latin1'), expected };
}

function summary(ms: L7Message[]): string[] {
  return ms.map((m) => `${m.http!.method} ${m.http!.path} ${m.http!.status} ${m.outcome}${m.http!.headers.traceparent ? ' tp' : ''}`);
}

function counting(): { counters: ParseCounters; failures: () => number } {
  let n = 0;
  return {
    counters: { messages: () => {}, failures: (_p, _r, k) => (n += k), undetected: () => {}, evictedConnections: () => {}, connections: () => {} },
    failures: () => n,
  };
}

describe('http parser properties', function () {
  // 100k cases: seconds on an idle core, more on a busy shared machine
  this.timeout(180000);
  it('any cut of a valid conversation into reads gives the same messages, with exact sequence numbers', () => {
    fc.assert(
      fc.property(fc.array(exchange, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 12 }), (xs, reqCuts, respCuts) => {
        const { req, resp, expected } = serialise(xs);
        const whole = new ParseEngine(defaultSettings()).add(clientRecords([req], [resp]), 0);
        const pieces = new ParseEngine(defaultSettings()).add(clientRecords(cut(req, reqCuts), cut(resp, respCuts)), 0);
        expect(summary(whole)).to.deep.equal(expected);
        expect(summary(pieces)).to.deep.equal(expected);
        expect(pieces.map((m) => [m.reqSeq, m.respSeq])).to.deep.equal(whole.map((m) => [m.reqSeq, m.respSeq]));
        // the first request starts at the first byte written
        expect(whole[0].reqSeq).to.equal(1000);
      }),
      { numRuns: 10000 },
    );
  });

  it('random and mutated bytes never throw and are counted', () => {
    // valid conversations drawn once; each case inserts noise somewhere and cuts the result
    const pool = fc.sample(fc.array(exchange, { minLength: 1, maxLength: 2 }), { numRuns: 64, seed: 7 }).map(serialise);
    let failures = 0;
    fc.assert(
      fc.property(fc.nat(63), fc.uint8Array({ maxLength: 16 }), fc.nat(), fc.nat(), fc.boolean(), (i, noise, where, cutAt, inRequest) => {
        const { req, resp } = pool[i];
        const target = inRequest ? req : resp;
        const mutated = insertNoise(target, noise, where);
        const c = counting();
        const e = new ParseEngine(defaultSettings(), c.counters);
        e.add(inRequest ? clientRecords(cut(mutated, [cutAt]), [resp]) : clientRecords([req], cut(mutated, [cutAt])), 0);
        e.flush();
        failures += c.failures();
      }),
      { numRuns: 100000 },
    );
    expect(failures).to.be.greaterThan(0);
  });
});
