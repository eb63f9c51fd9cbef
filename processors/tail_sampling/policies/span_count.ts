import { Decision, type PolicyEvaluator, type TraceData } from './policy';

export interface SpanCountConfig {
  min_spans: number;
  /** 0: no upper bound */
  max_spans: number;
}

/** Samples traces whose span count lies in [min_spans, max_spans], inclusive. */
export class SpanCount implements PolicyEvaluator {
  constructor(private readonly config: SpanCountConfig) {}

  evaluate(trace: TraceData): Decision {
    const n = trace.spans.length;
    const { min_spans: min, max_spans: max } = this.config;
    return n >= min && (max === 0 || n <= max) ? Decision.Sampled : Decision.NotSampled;
  }
}
