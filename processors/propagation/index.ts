/** What the rest of espan imports for trace-context extraction. */
import type { PropagatedContext } from '../../core/signals';
import * as b3 from './b3';
import * as datadog from './datadog';
import type { Headers } from './headers';
import * as w3c from './w3c';

export * from './constants';
export type { Headers } from './headers';
export type { W3cContext } from './w3c';
export type { DatadogContext } from './datadog';
export type { B3Context } from './b3';
export { w3c, datadog, b3 };

/** Propagator names as OTEL_PROPAGATORS spells them. `b3` extracts both B3 forms, `b3multi` only X-B3-*. */
export const PROPAGATORS = ['tracecontext', 'datadog', 'b3', 'b3multi'] as const;
export type PropagatorName = (typeof PROPAGATORS)[number];

const EXTRACTORS: Record<PropagatorName, (h: Headers) => PropagatedContext | undefined> = {
  tracecontext: w3c.extract,
  datadog: datadog.extract,
  b3: b3.extract,
  b3multi: b3.extractMulti,
};

const DEFAULT_ORDER: readonly PropagatorName[] = ['tracecontext', 'datadog', 'b3'];

/** The first valid context in `order`, as a composite propagator extracts. */
export function extract(headers: Headers, order: readonly PropagatorName[] = DEFAULT_ORDER): PropagatedContext | undefined {
  for (const name of order) {
    const ctx = EXTRACTORS[name](headers);
    if (ctx) return ctx;
  }
  return undefined;
}

/** W3C's trace id alone skips the tracestate's grammar (a few hundred ns for two members) and the context; the others' contexts cost little more than their ids. */
const TRACE_ID_EXTRACTORS: Record<PropagatorName, (h: Headers) => string | undefined> = {
  tracecontext: w3c.extractTraceId,
  datadog: (h) => datadog.extract(h)?.traceId,
  b3: (h) => b3.extract(h)?.traceId,
  b3multi: (h) => b3.extractMulti(h)?.traceId,
};

/** `extract(headers, order)?.traceId`, reading no more than the trace id needs (thread_correlation's forwarded ids). */
export function extractTraceId(headers: Headers, order: readonly PropagatorName[] = DEFAULT_ORDER): string | undefined {
  for (const name of order) {
    const traceId = TRACE_ID_EXTRACTORS[name](headers);
    if (traceId !== undefined) return traceId;
  }
  return undefined;
}
