import { setting, type ConfigOf } from '../../../core/config/schema';
import { Decision, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const spanCountBlock = {
  min_spans: setting.int(0, 'fewest spans that sample'),
  max_spans: setting.int(0, 'most spans that sample; 0: no upper bound'),
};

export type SpanCountConfig = ConfigOf<typeof spanCountBlock>;

/** Samples traces whose span count lies in [min_spans, max_spans], inclusive. */
export class SpanCount implements PolicyEvaluator {
  constructor(private readonly config: SpanCountConfig) {}

  evaluate(trace: TraceData): Decision {
    const n = trace.spans.length;
    const { min_spans: min, max_spans: max } = this.config;
    return n >= min && (max === 0 || n <= max) ? Decision.Sampled : Decision.NotSampled;
  }
}
