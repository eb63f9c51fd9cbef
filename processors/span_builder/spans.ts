/**
 * messages → spans: one eSpan per request/response pair. Link keys travel as
 * `espan.*` attributes (core/semconv.ts) so a linker behind any OTLP hop can
 * join spans by thread trace id, TCP sequence numbers and connection key.
 */
import { map, type OperatorFunction } from 'rxjs';
import { ESPAN_SCOPE } from '../../core/semconv';
import { SpanKind, type L7Message, type Span, type SpanEvent, type SpanLink } from '../../core/signals';
import { NO_ATTRIBUTES, shapeSpan, UNSET, type SemconvOptions } from './attributes';
import type { ResourceCache } from './resource';
import { SpanIds } from './shared-values';
import { UnixTime } from './unix-time';

export interface EspanCounters {
  spans(n: number): void;
  /** messages that could not become spans (counted, skipped) */
  malformed(n: number): void;
}

const NO_COUNTERS: EspanCounters = { spans: () => {}, malformed: () => {} };

/**
 * An eSpan has no events or links: every span shares these two empty lists
 * (two arrays less per held span, 64 bytes); frozen, so a stage that wants to
 * add some must give the span lists of its own.
 */
const NO_EVENTS = Object.freeze([]) as readonly SpanEvent[] as SpanEvent[];
const NO_LINKS = Object.freeze([]) as readonly SpanLink[] as SpanLink[];

/** pure caches, so one for every span_builder of the process */
const spanIds = new SpanIds();
const unixTime = new UnixTime();

/** The eSpan of one message; its resource is the shared object of its process. `nowMs`: the clock, if read already. */
export function toSpan(m: L7Message, resources: ResourceCache, opts: SemconvOptions, nowMs?: number): Span {
  // name, status and attributes are set by shapeSpan, on the span itself
  const span: Span = {
    traceId: '',
    spanId: spanIds.of(m),
    // made with the span, though unset: linking sets most spans' parent later, and a property added
    // to an object made at its exact size takes a backing store of its own (40 bytes, for 8 here)
    parentSpanId: undefined,
    name: '',
    kind: m.role === 'server' ? SpanKind.SERVER : SpanKind.CLIENT,
    startTimeUnixNano: unixTime.start(m),
    endTimeUnixNano: unixTime.end(m),
    attributes: NO_ATTRIBUTES,
    events: NO_EVENTS,
    links: NO_LINKS,
    status: UNSET,
    resource: resources.forMessage(m, nowMs),
    scope: ESPAN_SCOPE,
  };
  shapeSpan(m, opts, span);
  const p = m.propagation;
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
    // made at its full length: pushed to, it was copied as it grew (~16 bytes a span)
    const spans = new Array<Span>(batch.length);
    let n = 0;
    // once per batch: reading the clock costs more than a resource lookup
    const nowMs = resources.now();
    for (const m of batch) {
      try {
        spans[n] = toSpan(m, resources, opts, nowMs);
        n++;
      } catch {
        // A malformed message (a parser bug) must not stop the pipeline.
      }
    }
    const bad = batch.length - n;
    if (bad) {
      spans.length = n;
      counters.malformed(bad);
    }
    counters.spans(spans.length);
    return spans;
  });
}
