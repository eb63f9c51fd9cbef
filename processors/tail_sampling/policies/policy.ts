/**
 * The contract every sampling policy meets, as the Collector's
 * `internal/sampling/policy.go`: a policy looks at everything held for one
 * trace and votes; the processor turns the votes into one decision.
 */
import type { Attributes, Span } from '../../../core/signals';

export enum Decision {
  /** not decided yet */
  Unspecified = 0,
  Sampled = 1,
  NotSampled = 2,
  /** a `drop` policy matched: wins over every other vote */
  Dropped = 3,
  /** the policy failed; counted, ignored in the final decision */
  Error = 4,
  /**
   * Votes of an `invert_match` attribute policy. The Collector still gives them
   * their own precedence (deprecated there, kept here so its configs behave the same).
   */
  InvertSampled = 5,
  InvertNotSampled = 6,
}

/** What a policy sees of a trace: every span held for it so far. */
export interface TraceData {
  traceId: string;
  spans: Span[];
}

export interface PolicyEvaluator {
  evaluate(trace: TraceData): Decision;
}

/** What stateful policies (rate limits) need from outside: the clock of the pipeline's scheduler. */
export interface PolicyContext {
  /** milliseconds; the RxJS scheduler's `now()` so tests can drive time */
  now(): number;
}

/**
 * Sampled when any span's resource or the span itself satisfies `test`: the
 * Collector's hasResourceOrSpanWithCondition. Spans of one process share a
 * resource object, so a resource is tested once per run of equal objects.
 */
export function anyResourceOrSpan(trace: TraceData, test: (attributes: Attributes) => boolean): Decision {
  let lastResource: unknown;
  for (const span of trace.spans) {
    if (span.resource !== lastResource) {
      lastResource = span.resource;
      if (test(span.resource.attributes)) return Decision.Sampled;
    }
    if (test(span.attributes)) return Decision.Sampled;
  }
  return Decision.NotSampled;
}

/**
 * The inverted form: InvertNotSampled as soon as any resource or span matches,
 * InvertSampled when none does (the Collector's invertHasResourceOrSpanWithCondition).
 */
export function noResourceOrSpan(trace: TraceData, matches: (attributes: Attributes) => boolean): Decision {
  return anyResourceOrSpan(trace, matches) === Decision.Sampled ? Decision.InvertNotSampled : Decision.InvertSampled;
}

export function anySpan(trace: TraceData, test: (span: Span) => boolean): Decision {
  for (const span of trace.spans) if (test(span)) return Decision.Sampled;
  return Decision.NotSampled;
}

/** An attribute as a 64-bit-safe number, or undefined when it is not numeric. */
export function numericValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}
