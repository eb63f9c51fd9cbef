/**
 * Every field of exported spans and metrics arrives at a backend that decodes
 * with the official protos: over gRPC, HTTP/protobuf and HTTP/JSON, with and
 * without gzip and TLS, with headers.
 */
import { expect } from 'chai';
import { ESPAN_SDK } from '../../core/otlp/group';
import { makeCerts, removeCerts, type TestCerts } from './certs';
import { TestBackend } from './backend';
import { RESOURCE_A, RESOURCE_B, redPoints, richSpan } from './fixtures';
import { buildExporter, FAST_RETRY, type Kind } from './harness';

/** The span richSpan(0) as protobufjs' toObject renders it (64-bit as strings, ids as hex), written out by hand. */
const EXPECTED_SPAN0 = {
  traceId: '0000000000000abc0000000000000001',
  spanId: '0000000000000001',
  traceState: 'vendor=a',
  parentSpanId: '0000000000000002',
  flags: 1,
  name: 'GET /items/0',
  kind: 2,
  startTimeUnixNano: '1763000000123456789',
  endTimeUnixNano: '1763000000223456789',
  attributes: [
    { key: 'http.request.method', value: { stringValue: 'GET' } },
    { key: 'http.response.status_code', value: { intValue: '503' } },
    { key: 'espan.req_seq', value: { intValue: '4000000001' } },
    { key: 'big', value: { intValue: '9007199254740993' } },
    { key: 'negative', value: { intValue: '-12' } },
    { key: 'negativeBig', value: { intValue: '-9007199254740993' } },
    { key: 'ratio', value: { doubleValue: 0.25 } },
    { key: 'ok', value: { boolValue: false } },
    { key: 'raw', value: { bytesValue: Buffer.from([0, 1, 2, 254, 255]).toString('base64') } },
    { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }, { boolValue: true }, { doubleValue: 1.5 }] } } },
    {
      key: 'nested',
      value: {
        kvlistValue: {
          values: [
            { key: 'inner', value: { stringValue: 'v' } },
            { key: 'deeper', value: { kvlistValue: { values: [{ key: 'n', value: { intValue: '3' } }] } } },
          ],
        },
      },
    },
  ],
  droppedAttributesCount: 1,
  events: [{ timeUnixNano: '1763000000200000000', name: 'exception', attributes: [{ key: 'exception.type', value: { stringValue: 'Timeout' } }], droppedAttributesCount: 3 }],
  droppedEventsCount: 4,
  links: [{ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceState: 'k=v', attributes: [{ key: 'link.kind', value: { stringValue: 'follows' } }], droppedAttributesCount: 5, flags: 1 }],
  droppedLinksCount: 6,
  status: { code: 2, message: 'upstream unavailable' },
};

function kvObject(list: any[]): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv: any) => [kv.key, Object.values(kv.value)[0]]));
}

const MODES: Array<{ kind: Kind; encoding?: 'proto' | 'json' }> = [{ kind: 'grpc' }, { kind: 'http', encoding: 'proto' }, { kind: 'http', encoding: 'json' }];

describe('OTLP export round trip (test backend decoding with the official protos)', function () {
  this.timeout(20_000);
  let certs: TestCerts | undefined;

  before(function () {
    try {
      certs = makeCerts();
    } catch (e) {
      console.log(`      openssl unavailable (${(e as Error).message}); TLS cases will skip`);
    }
  });
  after(() => removeCerts(certs));

  for (const tls of [false, true]) {
    for (const gzip of [false, true]) {
      for (const mode of MODES) {
        const label = `${mode.kind}${mode.encoding ? '/' + mode.encoding : ''}, gzip ${gzip ? 'on' : 'off'}, TLS ${tls ? 'on' : 'off'}`;
        it(`delivers every span and metric field: ${label}`, async function () {
          if (tls && !certs) return this.skip();
          const backend = await new TestBackend(tls ? { tls: { cert: require('fs').readFileSync(certs!.serverCert), key: require('fs').readFileSync(certs!.serverKey) } } : {}).start();
          try {
            const block: Record<string, unknown> = {
              endpoint: mode.kind === 'grpc' ? backend.grpcEndpoint : backend.httpEndpoint,
              compression: gzip ? 'gzip' : 'none',
              headers: { 'x-tenant': 'acme', authorization: 'Bearer s3cret' },
              retry_on_failure: FAST_RETRY,
              tls: tls ? { ca_file: certs!.caFile } : { insecure: mode.kind === 'grpc' },
            };
            if (mode.encoding) block.encoding = mode.encoding;
            const { exporter, sent, failed } = buildExporter(mode.kind, block, { OTEL_EXPORTER_OTLP_HEADERS: 'x-from-env=yes%20please,x-tenant=ignored' });
            exporter.consume([richSpan(0), richSpan(1, RESOURCE_B), richSpan(2)], 'spans');
            exporter.consume([{ traceId: richSpan(3).traceId, spans: [richSpan(3)] }], 'traces');
            exporter.consume(redPoints(), 'metrics');
            const r = await exporter.shutdown(5000);
            expect(r.lost).to.equal(0);
            expect(await failed()).to.equal(0);
            expect(await sent()).to.equal(8);

            const traceReqs = backend.requests.filter((q) => q.signal === 'traces');
            expect(traceReqs).to.have.length(2);
            for (const q of backend.requests) {
              expect(q.transport).to.equal(mode.kind);
              expect(q.encoding).to.equal(mode.encoding ?? 'proto');
              if (mode.kind === 'http') expect(q.gzip).to.equal(gzip);
              expect(q.headers['x-tenant']).to.equal('acme');
              expect(q.headers['authorization']).to.equal('Bearer s3cret');
              expect(q.headers['x-from-env']).to.equal('yes please');
              expect(q.headers['user-agent']).to.match(/espan/);
            }
            // One ResourceSpans per distinct resource; the SDK identity is espan's.
            // With several consumers, requests may arrive in either order: pick the three-span one.
            const first = traceReqs.find((q) => q.body.resourceSpans.length === 2)!.body;
            expect(first.resourceSpans).to.have.length(2);
            const resA = first.resourceSpans.find((rs: any) => kvObject(rs.resource.attributes)['service.name'] === 'checkout');
            expect(kvObject(resA.resource.attributes)).to.deep.equal({ ...ESPAN_SDK, 'service.name': 'checkout', 'host.name': 'node-1', 'process.pid': '4242' });
            expect(resA.scopeSpans).to.have.length(1);
            expect(resA.scopeSpans[0].scope).to.deep.equal({ name: 'espan', version: '0.1.0', attributes: [{ key: 'scope.attr', value: { stringValue: 'x' } }] });
            expect(resA.scopeSpans[0].spans.map((s: any) => s.name)).to.deep.equal(['GET /items/0', 'GET /items/2']);
            const resB = first.resourceSpans.find((rs: any) => rs !== resA);
            expect(resB.resource.droppedAttributesCount).to.equal(RESOURCE_B.droppedAttributesCount);
            expect(resA.scopeSpans[0].spans[0]).to.deep.equal(EXPECTED_SPAN0);
            expect(backend.spans().map((s) => s.name)).to.have.members(['GET /items/0', 'GET /items/1', 'GET /items/2', 'GET /items/3']);

            const metricReq = backend.requests.find((q) => q.signal === 'metrics')!;
            const metrics = metricReq.body.resourceMetrics[0].scopeMetrics[0].metrics;
            const byName = Object.fromEntries(metrics.map((m: any) => [m.name, m]));
            expect(byName['espan.requests'].sum).to.deep.include({ aggregationTemporality: 2, isMonotonic: true });
            expect(byName['espan.requests'].unit).to.equal('{request}');
            expect(byName['espan.requests'].sum.dataPoints.map((p: any) => p.asInt)).to.deep.equal(['42', '7']);
            expect(byName['espan.request.duration'].histogram.dataPoints[0]).to.deep.include({
              count: '42',
              sum: 1.5,
              bucketCounts: ['10', '30', '2'],
              explicitBounds: [0.01, 0.1],
              min: 0.001,
              max: 0.3,
              startTimeUnixNano: '1763000000000000000',
              timeUnixNano: '1763000060000000000',
            });
            expect(byName['espan.inflight'].gauge.dataPoints[0].asDouble).to.equal(0.5);
            expect(metricReq.items).to.equal(4);
          } finally {
            await backend.stop();
          }
        });
      }
    }
  }

  it('gzips gRPC messages on the wire', async () => {
    const backend = await new TestBackend().start();
    try {
      const bytes: number[] = [];
      for (const compression of ['none', 'gzip']) {
        const before = backend.grpcBytesIn;
        const { exporter } = buildExporter('grpc', { endpoint: backend.grpcEndpoint, tls: { insecure: true }, compression });
        exporter.consume(Array.from({ length: 200 }, (_, i) => richSpan(i)), 'spans');
        expect((await exporter.shutdown(3000)).lost).to.equal(0);
        bytes.push(backend.grpcBytesIn - before);
      }
      expect(backend.accepted()).to.equal(400);
      expect(bytes[1]).to.be.below(bytes[0] / 3);
    } finally {
      await backend.stop();
    }
  });

  it('sends a client certificate for mutual TLS', async function () {
    if (!certs) return this.skip();
    const fs = require('fs');
    const backend = await new TestBackend({ tls: { cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey), ca: certs.ca, requireClientCert: true } }).start();
    try {
      for (const kind of ['grpc', 'http'] as const) {
        const { exporter } = buildExporter(kind, {
          endpoint: kind === 'grpc' ? backend.grpcEndpoint : backend.httpEndpoint,
          tls: { ca_file: certs.caFile, cert_file: certs.clientCert, key_file: certs.clientKey },
          retry_on_failure: { enabled: false },
        });
        exporter.consume([richSpan(0, RESOURCE_A)], 'spans');
        expect((await exporter.shutdown(5000)).lost).to.equal(0);
      }
      expect(backend.accepted()).to.equal(2);
    } finally {
      await backend.stop();
    }
  });

  it('fails permanently, counted, when the server certificate is not trusted', async function () {
    if (!certs) return this.skip();
    const fs = require('fs');
    const backend = await new TestBackend({ tls: { cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey) } }).start();
    try {
      const { exporter, failed } = buildExporter('http', { endpoint: backend.httpEndpoint, retry_on_failure: { ...FAST_RETRY, max_elapsed_time: '100ms' } });
      exporter.consume([richSpan(0)], 'spans');
      await exporter.shutdown(3000);
      expect(await failed()).to.equal(1);
      expect(backend.requests).to.have.length(0);
      const { exporter: skip } = buildExporter('http', { endpoint: backend.httpEndpoint, tls: { insecure_skip_verify: true } });
      skip.consume([richSpan(0)], 'spans');
      expect((await skip.shutdown(3000)).lost).to.equal(0);
      expect(backend.accepted()).to.equal(1);
    } finally {
      await backend.stop();
    }
  });

  it('takes the endpoint, headers and protocol from OTEL_EXPORTER_OTLP_* when the config is silent', async () => {
    const backend = await new TestBackend().start();
    try {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: backend.httpEndpoint, OTEL_EXPORTER_OTLP_HEADERS: 'api-key=k1', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_COMPRESSION: 'none' };
      const { exporter } = buildExporter('http', {}, env);
      exporter.consume([richSpan(0)], 'spans');
      await exporter.shutdown(3000);
      const genv = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://${backend.grpcEndpoint}` };
      const { exporter: g } = buildExporter('grpc', {}, genv);
      g.consume([richSpan(1)], 'spans');
      await g.shutdown(3000);
      expect(backend.requests.map((q) => [q.transport, q.encoding, q.gzip, q.headers['api-key']])).to.deep.equal([
        ['http', 'json', false, 'k1'],
        ['grpc', 'proto', false, undefined],
      ]);
    } finally {
      await backend.stop();
    }
  });

  it('gives each signal its own OTEL_EXPORTER_OTLP_<SIGNAL>_* protocol, headers and compression', async () => {
    const backend = await new TestBackend().start();
    try {
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: backend.httpEndpoint,
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-signal=traces',
        OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-signal=metrics',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'none',
      };
      const { exporter } = buildExporter('http', {}, env);
      exporter.consume([richSpan(0)], 'spans');
      exporter.consume(redPoints(), 'metrics');
      expect((await exporter.shutdown(3000)).lost).to.equal(0);
      const seen = Object.fromEntries(backend.requests.map((q) => [q.signal, [q.encoding, q.gzip, q.headers['x-signal']]]));
      expect(seen).to.deep.equal({ traces: ['proto', true, 'traces'], metrics: ['json', false, 'metrics'] });
    } finally {
      await backend.stop();
    }
  });
});
