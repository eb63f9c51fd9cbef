import { expect } from 'chai';
import fc from 'fast-check';
import { RESOURCE_A, RESOURCE_B, SCOPE, plainSpan, redPoints, richSpan, spanBatches } from '../../test/otlp/fixtures';
import { encodeMetricsRequestProtobufjs, encodeTraceRequestProtobufjs } from '../../test/otlp/reference';
import type { AttributeValue, Attributes, InstrumentationScope, MetricPoint, Resource, Span } from '../signals';
import { encodeTraceRequest } from './encode';
import { ESPAN_SDK } from './group';
import { otlpProto } from './proto';
import { ProtoWriter, varintWidth } from './proto-writer';
import { writeMetricsRequest } from './write-metrics';
import { writeTraceRequest } from './write-trace';

/** A decoded message as plain data: ids and bytes base64, 64-bit as decimal strings, absent fields as defaults. */
const AS_DATA = { longs: String, bytes: String, defaults: true, arrays: true, objects: true } as const;

/** The same without defaults (key_strindex and the like), for checking fields one by one. */
const AS_SET = { longs: String, bytes: String, arrays: true } as const;

function decodedTrace(bytes: Uint8Array, options: object = AS_DATA): any {
  const T = otlpProto().TraceRequest;
  return T.toObject(T.decode(bytes), options);
}

function decodedMetrics(bytes: Uint8Array, options: object = AS_DATA): any {
  const M = otlpProto().MetricsRequest;
  return M.toObject(M.decode(bytes), options);
}

/** Ours decoded by protobufjs equals protobufjs' own encoding decoded. */
function expectSameAsProtobufjs(spans: Span[]): any {
  const ours = decodedTrace(writeTraceRequest(spans));
  expect(ours).to.deep.equal(decodedTrace(encodeTraceRequestProtobufjs(spans)));
  return ours;
}

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

const OTHER_SCOPE: InstrumentationScope = { name: 'espan/redis', version: '0.2.0' };

describe('core/otlp ProtoWriter: ExportTraceServiceRequest', function () {
  // protobufjs' first load of the protos can take seconds on a busy machine
  this.timeout(20_000);
  it('writes every span field where the official protos put it', () => {
    const span = richSpan(0);
    expectSameAsProtobufjs([span]);
    const msg = decodedTrace(writeTraceRequest([span]), AS_SET);
    const rs = msg.resourceSpans[0];
    expect(rs.resource.attributes.map((kv: any) => kv.key)).to.include.members([...Object.keys(ESPAN_SDK), 'service.name']);
    expect(rs.scopeSpans[0].scope).to.deep.include({ name: 'espan', version: '0.1.0' });
    expect(rs.scopeSpans[0].scope.attributes).to.deep.equal([{ key: 'scope.attr', value: { stringValue: 'x' } }]);
    const s = rs.scopeSpans[0].spans[0];
    expect(s.traceId).to.equal(b64(span.traceId));
    expect(s.spanId).to.equal(b64(span.spanId));
    expect(s.parentSpanId).to.equal(b64(span.parentSpanId!));
    expect(s.traceState).to.equal('vendor=a');
    expect(s.flags).to.equal(1);
    expect(s.name).to.equal('GET /items/0');
    expect(s.kind).to.equal(2);
    expect(s.startTimeUnixNano).to.equal('1763000000123456789');
    expect(s.endTimeUnixNano).to.equal('1763000000223456789');
    expect(s.droppedAttributesCount).to.equal(1);
    expect(s.droppedEventsCount).to.equal(4);
    expect(s.droppedLinksCount).to.equal(6);
    expect(s.status).to.deep.equal({ message: 'upstream unavailable', code: 2 });
    const attr = Object.fromEntries(s.attributes.map((kv: any) => [kv.key, kv.value]));
    expect(attr['http.request.method']).to.deep.equal({ stringValue: 'GET' });
    expect(attr['espan.req_seq']).to.deep.equal({ intValue: '4000000001' });
    expect(attr.big).to.deep.equal({ intValue: '9007199254740993' });
    expect(attr.negative).to.deep.equal({ intValue: '-12' });
    expect(attr.negativeBig).to.deep.equal({ intValue: '-9007199254740993' });
    expect(attr.ratio).to.deep.equal({ doubleValue: 0.25 });
    expect(attr.ok).to.deep.equal({ boolValue: false });
    expect(attr.raw).to.deep.equal({ bytesValue: 'AAEC/v8=' });
    expect(attr.list.arrayValue.values).to.deep.equal([{ stringValue: 'a' }, { intValue: '1' }, { boolValue: true }, { doubleValue: 1.5 }]);
    expect(attr.nested.kvlistValue.values[1]).to.deep.equal({ key: 'deeper', value: { kvlistValue: { values: [{ key: 'n', value: { intValue: '3' } }] } } });
    expect(s.events).to.deep.equal([
      { timeUnixNano: '1763000000200000000', name: 'exception', attributes: [{ key: 'exception.type', value: { stringValue: 'Timeout' } }], droppedAttributesCount: 3 },
    ]);
    expect(s.links).to.deep.equal([
      { traceId: b64('f'.repeat(32)), spanId: b64('e'.repeat(16)), traceState: 'k=v', attributes: [{ key: 'link.kind', value: { stringValue: 'follows' } }], droppedAttributesCount: 5, flags: 1 },
    ]);
  });

  it('groups several resources and scopes as the protobufjs path does', () => {
    const copyOfA: Resource = { attributes: { ...RESOURCE_A.attributes } };
    const spans = [richSpan(0), { ...plainSpan(1), scope: OTHER_SCOPE }, richSpan(2, RESOURCE_B), plainSpan(3, copyOfA), { ...plainSpan(4, RESOURCE_B), scope: OTHER_SCOPE }, plainSpan(5)];
    const msg = expectSameAsProtobufjs(spans);
    expect(msg.resourceSpans).to.have.length(2);
    expect(msg.resourceSpans.map((r: any) => r.scopeSpans.length)).to.deep.equal([2, 2]);
    expect(msg.resourceSpans[1].resource.droppedAttributesCount).to.equal(2);
  });

  it('leaves out what a span does not have, and writes nothing for no spans', () => {
    const msg = expectSameAsProtobufjs([plainSpan(1)]);
    const s = msg.resourceSpans[0].scopeSpans[0].spans[0];
    expect([s.parentSpanId, s.traceState, s.flags, s.events, s.links]).to.deep.equal(['', '', 0, [], []]);
    expect(writeTraceRequest([])).to.have.length(0);
    // an unset trace id (before linking) is sent as absent, as proto3 sends empty bytes
    expectSameAsProtobufjs([{ ...plainSpan(2), traceId: '' }]);
  });

  it('decodes ids as Buffer.from(hex) does: upper case, odd lengths, bad characters', () => {
    const cutInsideFourBytes = ['001122zz44556677', '0011223344556z77', '00112233445566778g', 'abcdef012345678', 'ß1223344'];
    for (const id of ['ABCDEF0123456789', 'abc', 'zz12', '12zz34', '0'.repeat(300), 'ß1', ...cutInsideFourBytes]) {
      const msg = decodedTrace(writeTraceRequest([{ ...plainSpan(1), spanId: id }]));
      expect(msg.resourceSpans[0].scopeSpans[0].spans[0].spanId, id).to.equal(Buffer.from(id, 'hex').toString('base64'));
    }
  });

  it('encodes strings of every length and script as UTF-8', () => {
    const values = ['', 'é', '日本語', '😀 emoji', 'a'.repeat(42), 'é'.repeat(42), 'a'.repeat(43), 'ü'.repeat(64), 'x'.repeat(200), '語'.repeat(6000), 'y'.repeat(70000)];
    const attributes: Attributes = {};
    values.forEach((v, i) => (attributes[`k${i}${v.slice(0, 3)}`] = v));
    const msg = expectSameAsProtobufjs([{ ...plainSpan(1), name: 'é'.repeat(100), attributes }]);
    const got = msg.resourceSpans[0].scopeSpans[0].spans[0].attributes.map((kv: any) => kv.value.stringValue);
    expect(got).to.deep.equal(values);
  });

  it('writes a lone surrogate as U+FFFD, so Go receivers do not reject the request as invalid UTF-8', () => {
    const msg = decodedTrace(writeTraceRequest([{ ...plainSpan(1), name: 'a\ud800b' }]));
    expect(msg.resourceSpans[0].scopeSpans[0].spans[0].name).to.equal('a\ufffdb');
  });

  it('tells the width of varints of non-negative safe integers at every bit length', () => {
    for (let bits = 0; bits <= 53; bits++) {
      for (const v of [2 ** bits - 1, 2 ** bits, 2 ** bits + 1].filter((x) => x <= Number.MAX_SAFE_INTEGER)) {
        const w = new ProtoWriter();
        w.int64Number(v);
        expect(varintWidth(v), String(v)).to.equal(w.pos);
      }
    }
  });

  it('encodes integers and doubles at their edges', () => {
    const attributes: Attributes = {
      zero: 0,
      negZero: -0,
      maxSafe: Number.MAX_SAFE_INTEGER,
      minSafe: Number.MIN_SAFE_INTEGER,
      u32: 0xffffffff,
      i31: 2 ** 31 - 1,
      over31: 2 ** 31,
      fraction: 1.5,
      [`key.${'k'.repeat(38)}`]: 7,
      [`key.${'k'.repeat(39)}`]: true,
      'ключ': 'значение',
      'ascii.key': 'значение',
      over32: 0x100000000,
      minus1: -1,
      maxI64: 2n ** 63n - 1n,
      minI64: -(2n ** 63n),
      wraps: 2n ** 64n + 5n,
      unsafe: 2 ** 60,
      nan: NaN,
      inf: -Infinity,
      tiny: 5e-324,
    };
    const msg = expectSameAsProtobufjs([{ ...plainSpan(1), attributes, startTimeUnixNano: 0n, endTimeUnixNano: 2n ** 64n - 1n }]);
    const s = msg.resourceSpans[0].scopeSpans[0].spans[0];
    const attr = Object.fromEntries(s.attributes.map((kv: any) => [kv.key, kv.value]));
    expect(attr.zero).to.deep.equal({ intValue: '0' });
    expect(attr.minus1).to.deep.equal({ intValue: '-1' });
    expect(attr.minI64).to.deep.equal({ intValue: '-9223372036854775808' });
    expect(attr.wraps).to.deep.equal({ intValue: '5' });
    expect(attr.unsafe).to.deep.equal({ doubleValue: 2 ** 60 });
    expect(s.endTimeUnixNano).to.equal('18446744073709551615');
  });

  it('encodes empty and nested arrays and kvlists, and null inside them as protobufjs does', () => {
    const attributes = { empty: [], emptyObj: {}, deep: [[1, [2, { a: [true] }]], { b: { c: new Uint8Array(0) } }], holes: [null, 'x'], kvNull: { a: null, b: 1 }, skipped: null, gone: undefined } as any;
    expectSameAsProtobufjs([{ ...plainSpan(1), attributes }]);
  });

  it('writes spans and groups larger than its length guesses, and batches larger than its buffer', function () {
    this.timeout(20_000);
    const bigAttrs: Attributes = {};
    for (let i = 0; i < 400; i++) bigAttrs[`attribute.${i}`] = `value ${i} ${'v'.repeat(i % 50)}`;
    const huge = { ...richSpan(1), attributes: { blob: 'z'.repeat(4.5 * 1024 * 1024) } };
    const tiny = { ...plainSpan(2), name: '', attributes: {} };
    const spans = [{ ...richSpan(0), attributes: bigAttrs }, huge, tiny, ...Array.from({ length: 500 }, (_, i) => richSpan(i + 10))];
    expectSameAsProtobufjs(spans);
    // the writer shrinks back after a large request and still works
    expectSameAsProtobufjs([richSpan(5)]);
  });

  it('returns bytes of its own: later requests do not overwrite earlier ones', () => {
    const first = encodeTraceRequest([richSpan(1)]);
    const copy = Buffer.from(first);
    encodeTraceRequest([richSpan(2), richSpan(3)]);
    expect(Buffer.from(first).equals(copy)).to.equal(true);
  });

  it('writes a large request into the buffer of one given back, and only into such a buffer', () => {
    const w = new ProtoWriter();
    const spans = Array.from({ length: 1500 }, (_, i) => richSpan(i));
    const first = writeTraceRequest(spans, w);
    expect(first.length, 'large enough to be handed out').to.be.at.least(256 * 1024);
    const second = writeTraceRequest(spans, w);
    expect(second.buffer).to.not.equal(first.buffer);
    w.recycle(Buffer.from(first)); // a copy: not the writer's
    w.recycle(first);
    w.recycle(first); // twice: once is taken
    // the next request is written where the writer was already writing; the one after in the buffer given back
    writeTraceRequest(spans, w);
    const fourth = writeTraceRequest(spans, w);
    expect(fourth.buffer).to.equal(first.buffer);
    expect(decodedTrace(fourth)).to.deep.equal(decodedTrace(second));
    writeTraceRequest(spans, w);
    expect(writeTraceRequest(spans, w).buffer, 'not given back again').to.not.equal(first.buffer);
  });

  it('keeps several buffers given back while requests are in flight, and writes later requests into each', () => {
    const w = new ProtoWriter();
    const spans = Array.from({ length: 1500 }, (_, i) => richSpan(i));
    writeTraceRequest(spans, w); // the writer's first buffer grows to its size here
    const inFlight = [writeTraceRequest(spans, w), writeTraceRequest(spans, w), writeTraceRequest(spans, w)];
    for (const out of inFlight) w.recycle(out);
    // the next request is written where the writer was already writing; the three after in the buffers given back
    writeTraceRequest(spans, w);
    const later = [writeTraceRequest(spans, w), writeTraceRequest(spans, w), writeTraceRequest(spans, w)];
    const given = inFlight.map((out) => later.findIndex((l) => l.buffer === out.buffer));
    expect(given.slice().sort(), 'where each buffer given back was written again').to.deep.equal([0, 1, 2]);
    for (const out of later) expect(decodedTrace(out)).to.deep.equal(decodedTrace(inFlight[0]));
  });

  it('starts clean after a request that failed part-way', () => {
    const w = new ProtoWriter(16);
    expect(() => writeTraceRequest([richSpan(1), { ...plainSpan(2), startTimeUnixNano: 5 as any }], w)).to.throw(TypeError);
    expect(decodedTrace(writeTraceRequest([richSpan(3)], w))).to.deep.equal(decodedTrace(encodeTraceRequestProtobufjs([richSpan(3)])));
  });

  describe('property: decode(ProtoWriter(spans)) equals decode(protobufjs(spans))', () => {
    it('holds for random batches of spans', function () {
      this.timeout(30_000);
      fc.assert(
        fc.property(spanBatches(), (spans) => {
          expect(decodedTrace(writeTraceRequest(spans))).to.deep.equal(decodedTrace(encodeTraceRequestProtobufjs(spans)));
        }),
        { numRuns: 200 },
      );
    });
  });
});

describe('core/otlp ProtoWriter: ExportMetricsServiceRequest', () => {
  const base = { resource: RESOURCE_A, scope: SCOPE, startTimeUnixNano: 1_763_000_000_000_000_000n, timeUnixNano: 1_763_000_060_000_000_000n };

  it('writes sums, histograms and gauges where the official protos put them', () => {
    const points = redPoints();
    expect(decodedMetrics(writeMetricsRequest(points))).to.deep.equal(decodedMetrics(encodeMetricsRequestProtobufjs(points)));
    const ours = decodedMetrics(writeMetricsRequest(points), AS_SET);
    const metrics = ours.resourceMetrics[0].scopeMetrics[0].metrics;
    const byName = Object.fromEntries(metrics.map((m: any) => [m.name, m]));
    expect(byName['espan.requests'].unit).to.equal('{request}');
    expect(byName['espan.requests'].sum).to.deep.include({ aggregationTemporality: 2, isMonotonic: true });
    expect(byName['espan.requests'].sum.dataPoints.map((p: any) => p.asInt)).to.deep.equal(['42', '7']);
    expect(byName['espan.requests'].sum.dataPoints[0].startTimeUnixNano).to.equal('1763000000000000000');
    const h = byName['espan.request.duration'].histogram.dataPoints[0];
    expect([h.count, h.sum, h.min, h.max]).to.deep.equal(['42', 1.5, 0.001, 0.3]);
    expect(h.bucketCounts).to.deep.equal(['10', '30', '2']);
    expect(h.explicitBounds).to.deep.equal([0.01, 0.1]);
    expect(h.attributes).to.deep.equal([{ key: 'http.route', value: { stringValue: '/a' } }]);
    expect(byName['espan.inflight'].gauge.dataPoints[0].asDouble).to.equal(0.5);
  });

  it('keeps zero values, optional zeros, delta and non-monotonic streams, negative ints, several resources', () => {
    const points: Array<MetricPoint & { monotonic?: boolean }> = [
      { ...base, name: 'a', kind: 'sum', attributes: {}, value: 0, temporality: 'delta', monotonic: false },
      { ...base, name: 'b', kind: 'gauge', attributes: { x: 1 }, value: -5 },
      { ...base, name: 'b', kind: 'gauge', attributes: { x: 2 }, value: -2.5, description: 'in flight' },
      { ...base, name: 'c', kind: 'histogram', attributes: {}, count: 0, sum: 0, min: 0, max: 0, bucketCounts: [], explicitBounds: [] },
      { ...base, name: 'd', kind: 'histogram', attributes: {}, resource: RESOURCE_B, count: 2 ** 40, bucketCounts: [2 ** 40, 0], explicitBounds: [-1.5] },
      { ...base, name: 'e', kind: 'sum', attributes: {}, resource: RESOURCE_B, value: 2 ** 60 },
    ];
    const ours = decodedMetrics(writeMetricsRequest(points));
    expect(ours).to.deep.equal(decodedMetrics(encodeMetricsRequestProtobufjs(points)));
    const c = ours.resourceMetrics[0].scopeMetrics[0].metrics.find((m: any) => m.name === 'c').histogram.dataPoints[0];
    expect([c.sum, c.min, c.max]).to.deep.equal([0, 0, 0]);
    const a = ours.resourceMetrics[0].scopeMetrics[0].metrics.find((m: any) => m.name === 'a');
    expect(a.sum).to.deep.include({ aggregationTemporality: 1, isMonotonic: false });
    expect(a.sum.dataPoints[0].asInt).to.equal('0');
  });
});
