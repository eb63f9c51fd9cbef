/** Hand-made spans and metric points that use every field OTLP carries. */
import { SpanKind, StatusCode, type MetricPoint, type Resource, type Span } from '../../core/signals';

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
