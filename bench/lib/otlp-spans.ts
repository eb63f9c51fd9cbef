/** Spans and batching shared by the OTLP benchmarks (encode and export). */
import { SpanKind, StatusCode, type Resource, type Span } from '../../core/signals';

export const BATCH = 512;
export const resource: Resource = { attributes: { 'service.name': 'checkout', 'host.name': 'node-1', 'process.pid': 4242 } };
export const scope = { name: 'espan', version: '0.1.0' };

/** Spans as espan makes them: 10 attributes, ids derived from a counter. */
export function makeSpans(n: number, rich = false): Span[] {
  const base = 0x1234_5678_9abcn << 64n;
  const out: Span[] = [];
  for (let i = 0; i < n; i++) {
    const traceId = (base + BigInt(i >> 3)).toString(16).padStart(32, '0');
    out.push({
      traceId,
      spanId: (0x1000_0000_0000_0000n + BigInt(i)).toString(16),
      parentSpanId: i & 7 ? (0x1000_0000_0000_0000n + BigInt(i - 1)).toString(16) : undefined,
      name: 'GET /api/items/{id}',
      kind: SpanKind.SERVER,
      startTimeUnixNano: 1_763_000_000_000_000_000n + BigInt(i) * 1000n,
      endTimeUnixNano: 1_763_000_000_000_500_000n + BigInt(i) * 1000n,
      attributes: {
        'http.request.method': 'GET',
        'url.path': `/api/items/${i % 100}`,
        'http.route': '/api/items/{id}',
        'http.response.status_code': 200,
        'server.address': '10.0.0.12',
        'server.port': 8080,
        'client.address': '10.0.0.7',
        'network.protocol.version': '1.1',
        'espan.req_seq': 1_000_000 + i,
        'espan.thread_trace_id': 'a1b2c3d4e5f60718',
      },
      events: rich ? [{ timeUnixNano: 1_763_000_000_000_100_000n, name: 'exception', attributes: { 'exception.type': 'Timeout', 'exception.message': 'upstream read timed out after 5s' } }] : [],
      links: rich ? [{ traceId, spanId: 'e'.repeat(16), attributes: { 'espan.link.reason': 'thread' } }] : [],
      status: rich ? { code: StatusCode.ERROR, message: 'upstream unavailable' } : { code: StatusCode.UNSET },
      flags: 1,
      resource,
      scope,
    });
  }
  return out;
}

export function batches<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}
