/**
 * messages → spans: one eSpan per request/response pair. Link keys travel as
 * `espan.*` attributes (core/semconv.ts) so a linker behind any OTLP hop can
 * join spans by thread trace id, TCP sequence numbers and connection key.
 */
import { map, type OperatorFunction } from 'rxjs';
import { spanIdOf } from '../../core/message-ids';
import { ConnMeta } from '../../core/records/network-data';
import { connectionKey, ESPAN_SCOPE, type EspanAttributes } from '../../core/semconv';
import { SpanKind, type Attributes, type L7Message, type Span } from '../../core/signals';
import { semconvFor, type SemconvOptions } from './attributes';
import type { ResourceCache } from './resource';

export interface EspanCounters {
  spans(n: number): void;
  /** messages that could not become spans (counted, skipped) */
  malformed(n: number): void;
}

const NO_COUNTERS: EspanCounters = { spans: () => {}, malformed: () => {} };

function unixNano(m: L7Message, monotonicNs: number): bigint {
  return BigInt(Math.trunc(monotonicNs)) + m.host.bootTimeUnixNano;
}

/**
 * The eSpan of one message; `resource` is the shared object of its process.
 *
 * Attributes start as a literal of the link keys every span has, with their
 * names spelt out (EspanAttributes checks them), then take the optional link
 * keys and the protocol's by plain name: an object given more than a dozen
 * properties by computed name (`a[ESPAN.X] = …`) becomes a slow dictionary in V8.
 */
export function toSpan(m: L7Message, resources: ResourceCache, opts: SemconvOptions): Span {
  const link: EspanAttributes = {
    'espan.captured': true,
    'espan.host_id': m.host.hostId,
    'espan.conn_key': connectionKey(m.saddr, m.sport, m.daddr, m.dport),
    'espan.req_seq': m.reqSeq,
    'espan.netns': m.netns,
  };
  if (m.respSeq !== undefined) link['espan.resp_seq'] = m.respSeq;
  if ((m.connMeta & ConnMeta.NO_TASK) !== 0 || m.pid === 0) link['espan.no_task'] = true;
  else link['espan.tid'] = m.tid;
  if (m.threadTraceId) link['espan.thread_trace_id'] = m.threadTraceId;
  const p = m.propagation;
  if (p) {
    link['espan.propagation'] = p.format;
    if (p.sampled !== undefined) link['espan.propagated.sampled'] = p.sampled;
    if (p.priority !== undefined) link['espan.propagated.priority'] = p.priority;
  }
  const attributes: Attributes = link;
  const { name, status } = semconvFor(m, attributes, opts);
  const span: Span = {
    traceId: '',
    spanId: spanIdOf(m),
    name,
    kind: m.role === 'server' ? SpanKind.SERVER : SpanKind.CLIENT,
    startTimeUnixNano: unixNano(m, m.reqStart),
    endTimeUnixNano: unixNano(m, Math.max(m.respEnd ?? m.reqEnd, m.reqStart)),
    attributes,
    events: [],
    links: [],
    status,
    resource: resources.forMessage(m),
    scope: ESPAN_SCOPE,
  };
  if (p) {
    span.traceId = p.traceId;
    // On an outgoing request the header names the sender's own span for this very call (or, when a
    // proxy forwards headers, its caller's): not this span's parent. Thread correlation gives that.
    if (p.parentSpanId && m.role === 'server') span.parentSpanId = p.parentSpanId;
    if (p.traceState) span.traceState = p.traceState;
    if (p.sampled !== undefined) span.flags = p.sampled ? 1 : 0;
  }
  return span;
}

export function messagesToSpans(resources: ResourceCache, opts: SemconvOptions, counters: EspanCounters = NO_COUNTERS): OperatorFunction<L7Message[], Span[]> {
  return map((batch) => {
    const spans: Span[] = [];
    let bad = 0;
    for (const m of batch) {
      try {
        spans.push(toSpan(m, resources, opts));
      } catch {
        // A malformed message (a parser bug) must not stop the pipeline.
        bad++;
      }
    }
    if (bad) counters.malformed(bad);
    counters.spans(spans.length);
    return spans;
  });
}
