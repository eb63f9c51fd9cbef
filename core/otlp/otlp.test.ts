import { expect } from 'chai';
import { RESOURCE_A, RESOURCE_B, SCOPE, plainSpan, redPoints, richSpan, withoutResource } from '../../test/otlp/fixtures';
import { decodeExportResponse, decodeTraceRequest, fromOtlpJson } from './decode';
import { encodeMetricsRequest, encodeTraceRequest } from './encode';
import { ESPAN_SDK } from './group';
import { metricsToOtlpJson, stringifyOtlp, toOtlpJson } from './json';
import { otlpProto } from './proto';

describe('core/otlp', () => {
  const spans = [richSpan(0), richSpan(1, RESOURCE_B), richSpan(2), plainSpan(3)];

  it('round-trips every span field through protobuf', () => {
    const back = decodeTraceRequest(encodeTraceRequest(spans));
    expect(back).to.have.length(4);
    const byId = new Map(back.map((s) => [s.spanId, s]));
    for (const s of spans) {
      const b = byId.get(s.spanId)!;
      expect(withoutResource(b)).to.deep.equal(withoutResource(s));
      expect(b.resource.attributes).to.deep.equal({ ...ESPAN_SDK, ...s.resource.attributes });
      expect(b.resource.droppedAttributesCount).to.equal(s.resource.droppedAttributesCount);
      expect(b.scope).to.deep.equal(SCOPE);
    }
  });

  it('round-trips every span field through OTLP/JSON text', () => {
    const back = fromOtlpJson(stringifyOtlp(toOtlpJson(spans)));
    const byId = new Map(back.map((s) => [s.spanId, s]));
    for (const s of spans) expect(withoutResource(byId.get(s.spanId)!)).to.deep.equal(withoutResource(s));
  });

  it('groups spans into one ResourceSpans per distinct resource, even across equal copies', () => {
    const copyOfA = { attributes: { 'process.pid': 4242, 'host.name': 'node-1', 'service.name': 'checkout' } };
    const msg: any = otlpProto().TraceRequest.decode(encodeTraceRequest([...spans, plainSpan(9, copyOfA)]));
    expect(msg.resourceSpans).to.have.length(2);
    const counts = msg.resourceSpans.map((r: any) => r.scopeSpans[0].spans.length).sort();
    expect(counts).to.deep.equal([1, 4]);
  });

  it('keeps telemetry.sdk.* of spans that came from another SDK', () => {
    const sdk = { attributes: { 'service.name': 'app', 'telemetry.sdk.name': 'opentelemetry', 'telemetry.sdk.language': 'java' } };
    const [s] = decodeTraceRequest(encodeTraceRequest([plainSpan(1, sdk)]));
    expect(s.resource.attributes['telemetry.sdk.name']).to.equal('opentelemetry');
    expect(s.resource.attributes['telemetry.sdk.language']).to.equal('java');
  });

  it('spans of one resource share one Resource object after decoding', () => {
    const back = decodeTraceRequest(encodeTraceRequest([plainSpan(1), plainSpan(2)]));
    expect(back[0].resource).to.equal(back[1].resource);
  });

  it('writes ids as hex and 64-bit integers as strings in JSON', () => {
    const doc: any = toOtlpJson([richSpan(0)]);
    const s = doc.resourceSpans[0].scopeSpans[0].spans[0];
    expect(s.traceId).to.match(/^[0-9a-f]{32}$/);
    expect(s.startTimeUnixNano).to.equal('1763000000123456789');
    expect(s.attributes.find((a: any) => a.key === 'big').value).to.deep.equal({ intValue: '9007199254740993' });
    expect(s.attributes.find((a: any) => a.key === 'raw').value).to.deep.equal({ bytesValue: 'AAEC/v8=' });
  });

  it('rejects malformed input with a decode error, never a crash', () => {
    expect(() => decodeTraceRequest(new Uint8Array([0x0a, 0xff, 0xff]))).to.throw(/ExportTraceServiceRequest/);
    expect(() => fromOtlpJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}')).to.throw(/traceId/);
    expect(() => fromOtlpJson('{nope')).to.throw(/not JSON/);
  });

  it('encodes RED metrics as OTLP sums, histograms and gauges', () => {
    const msg: any = otlpProto().MetricsRequest.toObject(otlpProto().MetricsRequest.decode(encodeMetricsRequest(redPoints())), { longs: String });
    const metrics = msg.resourceMetrics[0].scopeMetrics[0].metrics;
    const byName = Object.fromEntries(metrics.map((m: any) => [m.name, m]));
    expect(byName['espan.requests'].sum.dataPoints).to.have.length(2);
    expect(byName['espan.requests'].sum.isMonotonic).to.equal(true);
    expect(byName['espan.requests'].sum.aggregationTemporality).to.equal(2);
    expect(byName['espan.requests'].sum.dataPoints[0].asInt).to.equal('42');
    const h = byName['espan.request.duration'].histogram.dataPoints[0];
    expect(h.count).to.equal('42');
    expect(h.bucketCounts).to.deep.equal(['10', '30', '2']);
    expect(h.explicitBounds).to.deep.equal([0.01, 0.1]);
    expect([h.sum, h.min, h.max]).to.deep.equal([1.5, 0.001, 0.3]);
    expect(byName['espan.inflight'].gauge.dataPoints[0].asDouble).to.equal(0.5);
    const json: any = metricsToOtlpJson(redPoints());
    expect(json.resourceMetrics[0].scopeMetrics[0].metrics).to.have.length(3);
  });

  it('reads partial success from export responses', () => {
    const P = otlpProto();
    const bytes = P.TraceResponse.encode({ partialSuccess: { rejectedSpans: 3, errorMessage: 'too old' } } as any).finish();
    expect(decodeExportResponse(bytes, 'traces')).to.deep.equal({ rejected: 3, errorMessage: 'too old' });
    expect(decodeExportResponse(new Uint8Array(0), 'traces')).to.equal(undefined);
    expect(decodeExportResponse(Buffer.from('{"partialSuccess":{"rejectedDataPoints":"2"}}'), 'metrics', true)).to.deep.equal({ rejected: 2, errorMessage: '' });
  });
});
