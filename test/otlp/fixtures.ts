/** Hand-made spans and metric points that use every field OTLP carries. */
import fc from 'fast-check';
import { SpanKind, StatusCode, type AttributeValue, type MetricPoint, type Resource, type Span } from '../../core/signals';

export const RESOURCE_A: Resource = { attributes: { 'service.name': 'checkout', 'host.name': 'node-1', 'process.pid': 4242 } };
export const RESOURCE_B: Resource = { attributes: { 'service.name': 'redis', 'process.pid': 77 }, droppedAttributesCount: 2 };
export const SCOPE = { name: 'espan', version: '0.1.0', attributes: { 'scope.attr': 'x' } };

/** Span n with every field set; ids derived from n (no randomness, so tests can predict them). */
export function richSpan(n: number, resource: Resource = RESOURCE_A): Span {
  const hex = (v: number, len: number) => v.toString(16).padStart(len, '0');
  return {
    traceId: `${hex(0xabc, 16)}${hex(n + 1, 16)}`,
    spanId: hex(n * 2 + 1, 16),
    parentSpanId: hex(n * 2 + 2, 16),
    traceState: 'vendor=a',
    flags: 1,
    name: `GET /items/${n}`,
    kind: SpanKind.SERVER,
    startTimeUnixNano: 1_763_000_000_123_456_789n + BigInt(n),
    endTimeUnixNano: 1_763_000_000_223_456_789n + BigInt(n),
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 503,
      'espan.req_seq': 4_000_000_001,
      big: 9_007_199_254_740_993n,
      negative: -12,
      negativeBig: -9_007_199_254_740_993n,
      ratio: 0.25,
      ok: false,
      raw: new Uint8Array([0, 1, 2, 254, 255]),
      list: ['a', 1, true, 1.5],
      nested: { inner: 'v', deeper: { n: 3 } },
    },
    droppedAttributesCount: 1,
    events: [{ timeUnixNano: 1_763_000_000_200_000_000n, name: 'exception', attributes: { 'exception.type': 'Timeout' }, droppedAttributesCount: 3 }],
    droppedEventsCount: 4,
    links: [{ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceState: 'k=v', attributes: { 'link.kind': 'follows' }, flags: 1, droppedAttributesCount: 5 }],
    droppedLinksCount: 6,
    status: { code: StatusCode.ERROR, message: 'upstream unavailable' },
    resource,
    scope: SCOPE,
  };
}

export function plainSpan(n: number, resource: Resource = RESOURCE_A): Span {
  const hex = (v: number, len: number) => v.toString(16).padStart(len, '0');
  return {
    traceId: hex(n + 1, 32),
    spanId: hex(n + 1, 16),
    name: 'op',
    kind: SpanKind.CLIENT,
    startTimeUnixNano: 1_763_000_000_000_000_000n,
    endTimeUnixNano: 1_763_000_000_001_000_000n,
    attributes: { n },
    events: [],
    links: [],
    status: { code: StatusCode.UNSET },
    resource,
    scope: SCOPE,
  };
}

export function redPoints(): MetricPoint[] {
  const base = { resource: RESOURCE_A, scope: SCOPE, startTimeUnixNano: 1_763_000_000_000_000_000n, timeUnixNano: 1_763_000_060_000_000_000n };
  return [
    { ...base, name: 'espan.requests', unit: '{request}', kind: 'sum', attributes: { 'http.route': '/a' }, value: 42 },
    { ...base, name: 'espan.requests', unit: '{request}', kind: 'sum', attributes: { 'http.route': '/b' }, value: 7 },
    {
      ...base,
      name: 'espan.request.duration',
      unit: 's',
      kind: 'histogram',
      attributes: { 'http.route': '/a' },
      count: 42,
      sum: 1.5,
      bucketCounts: [10, 30, 2],
      explicitBounds: [0.01, 0.1],
      min: 0.001,
      max: 0.3,
    },
    { ...base, name: 'espan.inflight', kind: 'gauge', attributes: {}, value: 0.5 },
  ];
}

/** What the decoder gives back for a span: the same, with the exporter's SDK identity on the resource. */
export function withoutResource(s: Span): Omit<Span, 'resource' | 'scope'> {
  const { resource: _r, scope: _s, ...rest } = s;
  return rest;
}

/**
 * Random batches of spans over every OTLP field: any text (lone surrogates
 * included), nested values, 64-bit extremes, empty ids, shared resources and scopes.
 */
export function spanBatches(): fc.Arbitrary<Span[]> {
  const text = fc.string({ unit: 'binary', maxLength: 60 });
  const hexId = (bytes: number) => fc.oneof(fc.constant(''), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: bytes * 2, maxLength: bytes * 2 }));
  const scalar: fc.Arbitrary<AttributeValue> = fc.oneof(
    text,
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
    fc.uint8Array({ maxLength: 20 }),
  );
  const { value } = fc.letrec<{ value: AttributeValue }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(text, tie('value'), { maxKeys: 4 })),
  }));
  const attributes = fc.dictionary(text, value, { maxKeys: 8 });
  const count = fc.oneof(fc.constant(0), fc.nat(), fc.constant(0xffffffff));
  const time = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  const resources = fc.array(fc.record({ attributes, droppedAttributesCount: fc.option(count, { nil: undefined }) }, { requiredKeys: ['attributes'] }), { minLength: 1, maxLength: 3 });
  const scopes = fc.array(fc.record({ name: text, version: fc.option(text, { nil: undefined }), attributes: fc.option(attributes, { nil: undefined }) }, { requiredKeys: ['name'] }), { minLength: 1, maxLength: 3 });
  const spanShape = fc.record(
    {
      traceId: hexId(16),
      spanId: hexId(8),
      parentSpanId: fc.option(hexId(8), { nil: undefined }),
      traceState: fc.option(text, { nil: undefined }),
      flags: fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }),
      name: text,
      kind: fc.integer({ min: 0, max: 5 }),
      startTimeUnixNano: time,
      endTimeUnixNano: time,
      attributes,
      droppedAttributesCount: fc.option(count, { nil: undefined }),
      events: fc.array(fc.record({ timeUnixNano: time, name: text, attributes, droppedAttributesCount: fc.option(count, { nil: undefined }) }, { requiredKeys: ['timeUnixNano', 'name', 'attributes'] }), { maxLength: 2 }),
      droppedEventsCount: fc.option(count, { nil: undefined }),
      links: fc.array(
        fc.record(
          { traceId: hexId(16), spanId: hexId(8), traceState: fc.option(text, { nil: undefined }), attributes, flags: fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }), droppedAttributesCount: fc.option(count, { nil: undefined }) },
          { requiredKeys: ['traceId', 'spanId', 'attributes'] },
        ),
        { maxLength: 2 },
      ),
      droppedLinksCount: fc.option(count, { nil: undefined }),
      status: fc.record({ code: fc.integer({ min: 0, max: 2 }), message: fc.option(text, { nil: undefined }) }, { requiredKeys: ['code'] }),
      resourceIndex: fc.nat(),
      scopeIndex: fc.nat(),
    },
    { requiredKeys: ['traceId', 'spanId', 'name', 'kind', 'startTimeUnixNano', 'endTimeUnixNano', 'attributes', 'events', 'links', 'status', 'resourceIndex', 'scopeIndex'] },
  );
  return fc.tuple(resources, scopes, fc.array(spanShape, { maxLength: 12 })).map(([rs, ss, shapes]) =>
    shapes.map(({ resourceIndex, scopeIndex, ...s }) => ({ ...s, resource: rs[resourceIndex % rs.length], scope: ss[scopeIndex % ss.length] }) as Span),
  );
}
