import { expect } from 'chai';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { otlpProto } from '../../core/otlp/proto';
import type { SignalSettings } from '../exporterhelper/otlp-exporter';
import { GrpcTransport, type GrpcTarget } from './transport';

interface Seen {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** A bare HTTP/2 server answering every stream with `answer`, recording what came; close() drops its connections. */
async function server(answer: (stream: http2.ServerHttp2Stream) => void, port: number | string = 0): Promise<{ port: number; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const srv = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  srv.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  srv.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      seen.push({ headers, body: Buffer.concat(chunks) });
      answer(stream);
    });
  });
  await new Promise<void>((r) => (typeof port === 'string' ? srv.listen(port, r) : srv.listen(port, '127.0.0.1', r)));
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sessions) s.destroy();
      srv.close(() => r());
    });
  return { port: (srv.address() as AddressInfo).port, seen, close };
}

function transport(port: number, over: Partial<SignalSettings<GrpcTarget>> = {}): GrpcTransport {
  const s: SignalSettings<GrpcTarget> = { endpoint: { address: `127.0.0.1:${port}`, plaintext: true }, encoding: 'proto', headers: {}, gzip: false, timeoutMs: 2000, tls: {} as any, ...over };
  return new GrpcTransport({ traces: s, metrics: s });
}

/** A unary gRPC answer: the message framed, status in trailers. */
function ok(stream: http2.ServerHttp2Stream, message: Uint8Array): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  stream.end(Buffer.concat([prefix, message]));
}

describe('otlp_grpc transport (gRPC on node:http2)', () => {
  it('sends the message behind its 5-byte prefix with the gRPC headers, and reads partial success', async () => {
    const partial = otlpProto().TraceResponse.encode({ partialSuccess: { rejectedSpans: 2, errorMessage: 'two bad' } }).finish();
    const srv = await server((stream) => ok(stream, partial));
    const t = transport(srv.port, { headers: { 'x-scope-orgid': 'team-a' } });
    try {
      const body = Buffer.from('not really a request, but bytes');
      expect(await t.send('traces', body, 2000)).to.deep.equal({ kind: 'partial', rejected: 2, errorMessage: 'two bad' });
      const { headers, body: got } = srv.seen[0];
      expect(headers[':path']).to.equal('/opentelemetry.proto.collector.trace.v1.TraceService/Export');
      expect(headers['content-type']).to.equal('application/grpc');
      expect(headers.te).to.equal('trailers');
      expect(headers['grpc-timeout']).to.equal('2000m');
      expect(headers['x-scope-orgid']).to.equal('team-a');
      expect(headers['user-agent']).to.match(/espan/);
      expect(got[0]).to.equal(0);
      expect(got.readUInt32BE(1)).to.equal(body.length);
      expect(got.subarray(5)).to.deep.equal(body);
    } finally {
      await t.close();
      await srv.close();
    }
  });

  it('gzips the message and flags it', async () => {
    const srv = await server((stream) => ok(stream, new Uint8Array(0)));
    const t = transport(srv.port, { gzip: true });
    try {
      const body = Buffer.from('x'.repeat(1000));
      expect(await t.send('metrics', body, 2000)).to.deep.equal({ kind: 'success' });
      const { headers, body: got } = srv.seen[0];
      expect(headers[':path']).to.equal('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export');
      expect(headers['grpc-encoding']).to.equal('gzip');
      expect(got[0]).to.equal(1);
      expect(zlib.gunzipSync(got.subarray(5))).to.deep.equal(body);
    } finally {
      await t.close();
      await srv.close();
    }
  });

  it('reads a trailers-only status with its percent-encoded message, and an HTTP status without one', async () => {
    let n = 0;
    const srv = await server((stream) => {
      if (n++ === 0) stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '3', 'grpc-message': 'bad%20span%3A%20%C3%A9' }, { endStream: true });
      else stream.respond({ ':status': 503 }, { endStream: true });
    });
    const t = transport(srv.port);
    try {
      expect(await t.send('traces', Buffer.from('a'), 2000)).to.deep.equal({ kind: 'permanent', message: 'gRPC INVALID_ARGUMENT: bad span: é' });
      const unavailable = await t.send('traces', Buffer.from('a'), 2000);
      expect(unavailable.kind).to.equal('retryable');
      expect((unavailable as { message: string }).message).to.match(/^gRPC UNAVAILABLE: HTTP 503/);
    } finally {
      await t.close();
      await srv.close();
    }
  });

  it('reaches a server on a unix: socket path', async () => {
    const socketPath = path.join(os.tmpdir(), `espan-grpc-${process.pid}.sock`);
    const srv = await server((stream) => ok(stream, new Uint8Array(0)), socketPath);
    const t = transport(0, { endpoint: { address: `unix:${socketPath}`, plaintext: true } });
    try {
      expect(await t.send('traces', Buffer.from('a'), 2000)).to.deep.equal({ kind: 'success' });
      expect(srv.seen).to.have.length(1);
    } finally {
      await t.close();
      await srv.close();
    }
  });

  it('gives up on a call past its timeout (retryably)', async () => {
    const srv = await server(() => {}); // never answers
    const t = transport(srv.port);
    try {
      const late = await t.send('traces', Buffer.from('a'), 100);
      expect(late.kind).to.equal('retryable');
      expect((late as { message: string }).message).to.match(/^gRPC DEADLINE_EXCEEDED/);
    } finally {
      await t.close();
      await srv.close();
    }
  });

  it('fails retryably while the server is away and connects again once it is back', async () => {
    const first = await server((stream) => ok(stream, new Uint8Array(0)));
    const t = transport(first.port);
    try {
      expect(await t.send('traces', Buffer.from('a'), 2000)).to.deep.equal({ kind: 'success' });
      await first.close();
      const away = await t.send('traces', Buffer.from('a'), 2000);
      expect(away.kind).to.equal('retryable');
      expect((away as { message: string }).message).to.match(/^gRPC UNAVAILABLE/);
      const back = await server((stream) => ok(stream, new Uint8Array(0)), first.port);
      try {
        expect(await t.send('traces', Buffer.from('a'), 2000)).to.deep.equal({ kind: 'success' });
      } finally {
        await back.close();
      }
    } finally {
      await t.close();
    }
  });
});
