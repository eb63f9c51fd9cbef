/** Hand-made spans and traces for the tail sampling tests. */
import { ServiceMetrics, componentTelemetry, type ComponentTelemetry } from '../../core/telemetry/metrics';
import { SpanKind, StatusCode, type Attributes, type Span, type Trace } from '../../core/signals';
import type { TraceData } from './policies/policy';

let nextSpan = 1;

export function span(over: Partial<Span> & { attrs?: Attributes; resourceAttrs?: Attributes; startMs?: number; durationMs?: number } = {}): Span {
  const start = BigInt(Math.round((over.startMs ?? 1_000) * 1e6));
  const end = start + BigInt(Math.round((over.durationMs ?? 10) * 1e6));
  return {
    traceId: over.traceId ?? '0af7651916cd43dd8448eb211c80319c',
    spanId: over.spanId ?? (nextSpan++).toString(16).padStart(16, '0'),
    parentSpanId: over.parentSpanId,
    traceState: over.traceState,
    name: over.name ?? 'GET /',
    kind: over.kind ?? SpanKind.SERVER,
    startTimeUnixNano: over.startTimeUnixNano ?? start,
    endTimeUnixNano: over.endTimeUnixNano ?? end,
    attributes: over.attrs ?? over.attributes ?? {},
    events: [],
    links: [],
    status: over.status ?? { code: StatusCode.UNSET },
    resource: over.resource ?? { attributes: over.resourceAttrs ?? { 'service.name': 'svc' } },
    scope: { name: 'test' },
  };
}

export function trace(spans: Span[], traceId = spans[0]?.traceId ?? '0af7651916cd43dd8448eb211c80319c'): TraceData & Trace {
  return { traceId, spans };
}

export function telemetry(): ComponentTelemetry & { metrics: ServiceMetrics } {
  return componentTelemetry(new ServiceMetrics(), 'processor', 'tail_sampling');
}

/** A trace id from a number, for sweeping many ids. */
export function idOf(n: number): string {
  return n.toString(16).padStart(32, '0');
}
