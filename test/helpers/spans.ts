/** Hand-made spans for exporter and processor tests. */
import { SpanKind, StatusCode, type Resource, type Span } from '../../core/signals';

export const FRONT: Resource = { attributes: { 'service.name': 'front', 'process.pid': 101 } };
export const BACK: Resource = { attributes: { 'service.name': 'back', 'process.pid': 202 } };
const SCOPE = { name: 'espan', version: '0.1.0' };

export function span(over: Partial<Span> & { spanId: string }): Span {
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    name: 'GET /',
    kind: SpanKind.SERVER,
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_000_010_000_000n,
    attributes: {},
    events: [],
    links: [],
    status: { code: StatusCode.UNSET },
    resource: FRONT,
    scope: SCOPE,
    ...over,
  };
}

/** front SERVER GET /users → CLIENT GET (to back) → back SERVER GET /users/1, and a Redis call. */
export function sampleTrace(): Span[] {
  const t0 = 1_700_000_000_000_000_000n;
  return [
    span({ spanId: 'a000000000000001', name: 'GET /users', startTimeUnixNano: t0, endTimeUnixNano: t0 + 12_300_000n, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 } }),
    span({ spanId: 'a000000000000002', parentSpanId: 'a000000000000001', name: 'GET', kind: SpanKind.CLIENT, startTimeUnixNano: t0 + 1_000_000n, endTimeUnixNano: t0 + 9_000_000n }),
    span({ spanId: 'a000000000000003', parentSpanId: 'a000000000000002', name: 'GET /users/1', resource: BACK, startTimeUnixNano: t0 + 2_000_000n, endTimeUnixNano: t0 + 8_000_000n, status: { code: StatusCode.ERROR, message: 'boom' } }),
    span({ spanId: 'a000000000000004', parentSpanId: 'a000000000000001', name: 'GET', kind: SpanKind.CLIENT, startTimeUnixNano: t0 + 9_500_000n, endTimeUnixNano: t0 + 10_000_000n, attributes: { 'db.system.name': 'redis' } }),
  ];
}
