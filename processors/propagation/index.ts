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

/** The first valid context in `order`, as a composite propagator extracts. */
export function extract(headers: Headers, order: readonly PropagatorName[] = ['tracecontext', 'datadog', 'b3']): PropagatedContext | undefined {
  for (const name of order) {
    const ctx = EXTRACTORS[name](headers);
    if (ctx) return ctx;
  }
  return undefined;
}
