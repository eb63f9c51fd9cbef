import { expect } from 'chai';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import { lastValueFrom, toArray } from 'rxjs';
import type { ReceiverRuntime } from '../../core/component';
import { resolveConfig } from '../../core/config/schema';
import { encodeTraceRequest } from '../../core/otlp/encode';
import { toOtlpJson } from '../../core/otlp/json';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import type { Span } from '../../core/signals';
import { makeCerts, removeCerts, type TestCerts } from '../../test/otlp/certs';
import { RESOURCE_B, plainSpan, richSpan, withoutResource } from '../../test/otlp/fixtures';
import { buildExporter } from '../../test/otlp/harness';
import { otlpReceiverFactory, type OtlpReceiverConfig } from './factory';
import { FLOW_WINDOW } from './grpc_server';
import { OtlpReceiver } from './receiver';
import { testContext } from '../../test/helpers/context';

const FREE = { protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } } };

function merge(a: any, b: any): any {
  if (typeof a !== 'object' || typeof b !== 'object' || !a || !b) return b ?? a;
  const out: any = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

async function startReceiver(block: Record<string, unknown> = {}, runtime: ReceiverRuntime = { waitForCapacity: async () => {} }) {
  const { config, problems } = resolveConfig<OtlpReceiverConfig>(otlpReceiverFactory.schema, merge(FREE, block));
  if (!config) throw new Error(JSON.stringify(problems));
  expect(otlpReceiverFactory.validate!(config)).to.deep.equal([]);
  const metrics = new ServiceMetrics();
  const ctx = testContext('receiver', 'otlp', metrics);
  const receiver = otlpReceiverFactory.create(config, ctx) as OtlpReceiver;
  const collected = lastValueFrom(receiver.output.pipe(toArray()));
  await receiver.start(runtime);
  return {
    receiver,
    metrics,
    grpc: `127.0.0.1:${receiver.grpcPort}`,
    http: `http://127.0.0.1:${receiver.httpPort}`,
    refused: (reason?: string) => metrics.total('espan_otlp_receiver_refused_requests_total', reason ? { reason } : {}),
    /** shuts down and returns every batch it emitted */
    stop: async (): Promise<Span[][]> => {
      await receiver.shutdown();
      return collected;
    },
  };
}

function post(url: string, body: Buffer | string, headers: Record<string, string>): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('otlp receiver', function () {
  this.timeout(20_000);

  it('has Collector defaults: gRPC on localhost:4317, HTTP on localhost:4318', () => {
    const { config } = resolveConfig<OtlpReceiverConfig>(otlpReceiverFactory.schema, {});
    expect(config!.protocols.grpc.endpoint).to.equal('localhost:4317');
    expect(config!.protocols.http.endpoint).to.equal('localhost:4318');
    expect(config!.protocols.http.traces_url_path).to.equal('/v1/traces');
    expect(otlpReceiverFactory.validate!({ ...config!, protocols: { ...config!.protocols, grpc: { ...config!.protocols.grpc, endpoint: 'nope' } } })).to.have.length(1);
  });

  it('receives every field from espan exporters over gRPC, HTTP/protobuf and HTTP/JSON, gzip on and off', async () => {
    const r = await startReceiver();
    const sent = [richSpan(0), richSpan(1, RESOURCE_B), plainSpan(100)];
    const cases: Array<[('grpc' | 'http'), Record<string, unknown>]> = [
      ['grpc', { endpoint: r.grpc, tls: { insecure: true }, compression: 'gzip' }],
      ['grpc', { endpoint: r.grpc, tls: { insecure: true }, compression: 'none' }],
      ['http', { endpoint: r.http, encoding: 'proto', compression: 'gzip' }],
      ['http', { endpoint: r.http, encoding: 'json', compression: 'gzip' }],
      ['http', { endpoint: r.http, encoding: 'json', compression: 'none' }],
    ];
    for (const [kind, block] of cases) {
      const { exporter } = buildExporter(kind, block);
      exporter.consume(sent, 'spans');
      expect((await exporter.shutdown(5000)).lost).to.equal(0);
    }
    const batches = await r.stop();
    expect(batches).to.have.length(cases.length);
    for (const batch of batches) {
      const byId = new Map(batch.map((s) => [s.spanId, s]));
      for (const s of sent) {
        const got = byId.get(s.spanId)!;
        expect(withoutResource(got)).to.deep.equal(withoutResource(s));
        expect(got.resource.attributes['service.name']).to.equal(s.resource.attributes['service.name']);
        expect(got.scope).to.deep.equal(s.scope);
      }
    }
  });

  it('receives spans from the official OpenTelemetry JS SDK exporters (gRPC, HTTP/protobuf, HTTP/JSON)', async () => {
    const r = await startReceiver();
    const { TracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace');
    const { resourceFromAttributes, defaultResource } = await import('@opentelemetry/resources');
    const grpcExp = new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter({ url: `http://${r.grpc}` });
    const protoExp = new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({ url: `${r.http}/v1/traces` });
    const jsonExp = new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: `${r.http}/v1/traces` });
    const names: string[] = [];
    for (const [name, exp] of [['sdk-grpc', grpcExp], ['sdk-proto', protoExp], ['sdk-json', jsonExp]] as const) {
      const provider = new TracerProvider({ resource: defaultResource().merge(resourceFromAttributes({ 'service.name': 'sdk-app' })), spanProcessors: [new SimpleSpanProcessor({ exporter: exp as any })] });
      const tracer = provider.getTracer('sdk-test', '1.2.3');
      const parent = tracer.startSpan(`${name}-parent`, { attributes: { 'http.request.method': 'GET', count: 3 } });
      parent.end();
      names.push(`${name}-parent`);
      await provider.forceFlush();
      await provider.shutdown();
    }
    const spans = (await r.stop()).flat();
    expect(spans.map((s) => s.name)).to.have.members(names);
    for (const s of spans) {
      expect(s.traceId).to.match(/^[0-9a-f]{32}$/);
      expect(s.spanId).to.match(/^[0-9a-f]{16}$/);
      expect(s.attributes).to.deep.equal({ 'http.request.method': 'GET', count: 3 });
      expect(s.resource.attributes['service.name']).to.equal('sdk-app');
      expect(s.resource.attributes['telemetry.sdk.name']).to.equal('opentelemetry');
      expect(s.scope).to.deep.include({ name: 'sdk-test', version: '1.2.3' });
      expect(s.endTimeUnixNano > s.startTimeUnixNano || s.endTimeUnixNano === s.startTimeUnixNano).to.equal(true);
    }
  });

  it('refuses malformed requests with client errors, counts them and keeps serving', async () => {
    const r = await startReceiver();
    const bad = await post(`${r.http}/v1/traces`, Buffer.from([0x0a, 0xff, 0xff, 0x01]), { 'content-type': 'application/x-protobuf' });
    expect(bad.status).to.equal(400);
    const badJson = await post(`${r.http}/v1/traces`, '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}', { 'content-type': 'application/json' });
    expect(badJson.status).to.equal(400);
    expect(JSON.parse(badJson.body.toString()).message).to.match(/traceId/);
    expect((await post(`${r.http}/v1/traces`, 'x', { 'content-type': 'text/plain' })).status).to.equal(415);
    expect((await post(`${r.http}/v1/metrics`, 'x', { 'content-type': 'application/json' })).status).to.equal(404);
    const badGzip = await post(`${r.http}/v1/traces`, 'not gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(badGzip.status).to.equal(400);
    const { exporter, failed } = buildExporter('grpc', { endpoint: r.grpc, tls: { insecure: true } });
    // a span id of the wrong length is caught by the decoder, as INVALID_ARGUMENT (permanent)
    exporter.consume([{ ...plainSpan(1), spanId: 'abcd' }], 'spans');
    await exporter.shutdown(3000);
    expect(await failed('permanent')).to.equal(1);
    const ok = await post(`${r.http}/v1/traces`, JSON.stringify(toOtlpJson([plainSpan(5)])), { 'content-type': 'application/json' });
    expect(ok.status).to.equal(200);
    expect(await r.refused('decode')).to.equal(4);
    expect(await r.refused('media_type')).to.equal(1);
    expect((await r.stop()).flat().map((s) => s.attributes.n)).to.deep.equal([5]);
  });

  it('caps the decompressed body size', async () => {
    const r = await startReceiver({ protocols: { http: { max_request_body_size: 10_000 } } });
    const bomb = zlib.gzipSync(Buffer.alloc(1_000_000, 0x20));
    const res = await post(`${r.http}/v1/traces`, bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).to.equal(413);
    await r.stop();
  });

  it('checks a bearer token on both protocols', async () => {
    const r = await startReceiver({ protocols: { grpc: { auth: { bearer_token: 't0k3n' } }, http: { auth: { bearer_token: 't0k3n' } } } });
    const body = Buffer.from(encodeTraceRequest([plainSpan(1)]));
    const none = await post(`${r.http}/v1/traces`, body, { 'content-type': 'application/x-protobuf' });
    expect(none.status).to.equal(401);
    expect(none.headers['www-authenticate']).to.equal('Bearer');
    expect((await post(`${r.http}/v1/traces`, body, { 'content-type': 'application/x-protobuf', authorization: 'Bearer wrong' })).status).to.equal(401);
    expect((await post(`${r.http}/v1/traces`, body, { 'content-type': 'application/x-protobuf', authorization: 'Bearer t0k3n' })).status).to.equal(200);
    const wrong = buildExporter('grpc', { endpoint: r.grpc, tls: { insecure: true }, headers: { authorization: 'Bearer nope' } });
    wrong.exporter.consume([plainSpan(2)], 'spans');
    await wrong.exporter.shutdown(3000);
    expect(await wrong.failed('permanent')).to.equal(1);
    const right = buildExporter('grpc', { endpoint: r.grpc, tls: { insecure: true }, headers: { authorization: 'Bearer t0k3n' } });
    right.exporter.consume([plainSpan(3)], 'spans');
    expect((await right.exporter.shutdown(3000)).lost).to.equal(0);
    expect(await right.sent()).to.equal(1);
    expect(await r.refused('auth')).to.equal(3);
    expect((await r.stop()).flat().map((s) => s.attributes.n)).to.deep.equal([1, 3]);
  });

  it('serves gRPC with wide flow-control windows, refuses unknown methods and messages over max_recv_msg_size_mib', async () => {
    const r = await startReceiver({ protocols: { grpc: { max_recv_msg_size_mib: 1 } } });
    const session = http2.connect(`http://${r.grpc}`);
    try {
      await new Promise((resolve) => session.once('remoteSettings', resolve));
      // a sender may write a whole large request at once instead of waiting for window updates every 64 KiB
      expect(session.remoteSettings.initialWindowSize).to.equal(FLOW_WINDOW);
      const call = (path: string, message: Buffer) =>
        new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
          let got: http2.IncomingHttpHeaders = {};
          stream.on('response', (h) => (got = h));
          stream.on('trailers', (t) => (got = { ...got, ...t }));
          stream.on('error', reject);
          stream.on('close', () => resolve(got));
          stream.resume();
          const prefix = Buffer.alloc(5);
          prefix.writeUInt32BE(message.length, 1);
          stream.end(Buffer.concat([prefix, message]));
        });
      const traces = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
      const ok = await call(traces, Buffer.from(encodeTraceRequest([plainSpan(1)])));
      expect(ok['grpc-status']).to.equal('0');
      const big = await call(traces, Buffer.alloc(2 * 1024 * 1024));
      expect(big['grpc-status']).to.equal('8'); // RESOURCE_EXHAUSTED
      const logs = await call('/opentelemetry.proto.collector.logs.v1.LogsService/Export', Buffer.alloc(0));
      expect(logs['grpc-status']).to.equal('12'); // UNIMPLEMENTED
    } finally {
      session.close();
    }
    expect(await r.refused('too_large')).to.equal(1);
    expect((await r.stop()).flat().map((s) => s.attributes.n)).to.deep.equal([1]);
  });

  describe('with TLS', () => {
    let certs: TestCerts | undefined;
    before(function () {
      try {
        certs = makeCerts();
      } catch (e) {
        console.log(`      openssl unavailable (${(e as Error).message}); skipping`);
      }
    });
    after(() => removeCerts(certs));

    it('serves gRPC and HTTPS, and requires client certificates when client_ca_file is set', async function () {
      if (!certs) return this.skip();
      const tls = { cert_file: certs.serverCert, key_file: certs.serverKey };
      const r = await startReceiver({ protocols: { grpc: { tls }, http: { tls } } });
      for (const [kind, endpoint] of [['grpc', r.grpc.replace('127.0.0.1', 'localhost')], ['http', `https://localhost:${r.receiver.httpPort}`]] as const) {
        const { exporter } = buildExporter(kind, { endpoint, tls: { ca_file: certs.caFile } });
        exporter.consume([plainSpan(kind === 'grpc' ? 1 : 2)], 'spans');
        expect((await exporter.shutdown(3000)).lost).to.equal(0);
      }
      expect((await r.stop()).flat()).to.have.length(2);

      const m = await startReceiver({ protocols: { grpc: { tls: { ...tls, client_ca_file: certs.caFile } }, http: { tls: { ...tls, client_ca_file: certs.caFile } } } });
      const anon = buildExporter('http', { endpoint: `https://localhost:${m.receiver.httpPort}`, tls: { ca_file: certs.caFile }, retry_on_failure: { enabled: false } });
      anon.exporter.consume([plainSpan(3)], 'spans');
      await anon.exporter.shutdown(3000);
      expect(await anon.failed()).to.equal(1);
      const mutual = buildExporter('grpc', { endpoint: `localhost:${m.receiver.grpcPort}`, tls: { ca_file: certs.caFile, cert_file: certs.clientCert, key_file: certs.clientKey } });
      mutual.exporter.consume([plainSpan(4)], 'spans');
      expect((await mutual.exporter.shutdown(3000)).lost).to.equal(0);
      expect((await m.stop()).flat().map((s) => s.attributes.n)).to.deep.equal([4]);
    });
  });

  it('tells clients to retry when the pipeline has no room, and delivers once it has', async () => {
    let open!: () => void;
    let full = true;
    const runtime: ReceiverRuntime = {
      waitForCapacity: () => (full ? new Promise<void>((r) => (open = r)) : Promise.resolve()),
    };
    const r = await startReceiver({ backpressure_timeout: '100ms' }, runtime);
    const body = JSON.stringify(toOtlpJson([plainSpan(1)]));
    const res = await post(`${r.http}/v1/traces`, body, { 'content-type': 'application/json' });
    expect(res.status).to.equal(503);
    expect(await r.refused('backpressure')).to.equal(1);
    full = false;
    open();
    expect((await post(`${r.http}/v1/traces`, body, { 'content-type': 'application/json' })).status).to.equal(200);
    expect((await r.stop()).flat()).to.have.length(1);
  });
});
