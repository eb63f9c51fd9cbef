/**
 * messages → messages: attaches the trace context an HTTP request carried to
 * the message (`message.propagation`), so the eSpan joins the application's
 * own trace.
 */
import { map, type OperatorFunction } from 'rxjs';
import type { L7Message } from '../../core/signals';
import { extract, PROPAGATION_HEADERS, type PropagatorName } from './index';

export interface PropagationCounters {
  /** a context was extracted, by format */
  extracted(format: string): void;
  /** propagation headers were present but none gave a valid context */
  invalid(): void;
}

const NO_COUNTERS: PropagationCounters = { extracted: () => {}, invalid: () => {} };

const PROPAGATION_HEADER_SET: ReadonlySet<string> = new Set(PROPAGATION_HEADERS);

/** Names come lower-cased from the HTTP parser; others are lower-cased here. */
function hasPropagationHeader(headers: Readonly<Record<string, string>>): boolean {
  for (const k in headers) if (PROPAGATION_HEADER_SET.has(k) || PROPAGATION_HEADER_SET.has(k.toLowerCase())) return true;
  return false;
}

export function extractPropagation(order: readonly PropagatorName[], counters: PropagationCounters = NO_COUNTERS): OperatorFunction<L7Message[], L7Message[]> {
  return map((batch) => {
    for (const m of batch) {
      const headers = m.http?.headers;
      if (!headers || m.propagation) continue;
      if (!hasPropagationHeader(headers)) continue;
      const ctx = extract(headers, order);
      if (ctx) {
        m.propagation = ctx;
        counters.extracted(ctx.format);
      } else {
        counters.invalid();
      }
    }
    return batch;
  });
}
