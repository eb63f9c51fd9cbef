/** Hand-made eSpans with link keys, as the span_builder processor makes them. */
import { ESPAN } from '../../core/semconv';
import { SpanKind, StatusCode, type Span } from '../../core/signals';
import type { LinkingConfig } from './config';

let next = 1;

export interface ESpanSpec {
  kind: 'client' | 'server';
  /** ms since the epoch */
  startMs: number;
  durationMs: number;
  host?: string;
  conn?: string;
  seq?: number;
  thread?: string;
  traceId?: string;
  parentSpanId?: string;
  spanId?: string;
  propagation?: 'w3c' | 'datadog' | 'b3';
  name?: string;
}

export function espan(spec: ESpanSpec): Span {
  const attributes: Span['attributes'] = { [ESPAN.CAPTURED]: true, [ESPAN.HOST_ID]: spec.host ?? 'host-a' };
  if (spec.conn !== undefined) attributes[ESPAN.CONN_KEY] = spec.conn;
  if (spec.seq !== undefined) attributes[ESPAN.REQ_SEQ] = spec.seq;
  if (spec.thread !== undefined) attributes[ESPAN.THREAD_TRACE_ID] = spec.thread;
  if (spec.propagation) attributes[ESPAN.PROPAGATION] = spec.propagation;
  const start = BigInt(Math.round(spec.startMs * 1000)) * 1000n;
  return {
    traceId: spec.traceId ?? '',
    spanId: spec.spanId ?? (next++).toString(16).padStart(16, 'a'),
    parentSpanId: spec.parentSpanId,
    name: spec.name ?? `${spec.kind} span`,
    kind: spec.kind === 'client' ? SpanKind.CLIENT : SpanKind.SERVER,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(Math.round(spec.durationMs * 1000)) * 1000n,
    attributes,
    events: [],
    links: [],
    status: { code: StatusCode.UNSET },
    resource: { attributes: { 'service.name': 'svc' } },
    scope: { name: 'espan', version: '0.1.0' },
  };
}

export function linkingConfig(over: Partial<LinkingConfig> = {}): LinkingConfig {
  return { link_window: 1000, link_windows: 2, max_clock_skew: 100, max_spans: 10000, max_recent_links: 1000, ...over };
}
