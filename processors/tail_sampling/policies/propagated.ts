import { setting, type ConfigOf } from '../../../core/config/schema';
import { ESPAN } from '../../../core/semconv';
import { Decision, numericValue, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const propagatedBlock = {
  drop_not_sampled: setting.bool(
    false,
    'when the caller decided not to sample (W3C sampled flag 0, Datadog priority <= 0): false votes not sampled (other policies may still keep the trace), true votes dropped (nothing keeps it)',
  ),
};

export type PropagatedConfig = ConfigOf<typeof propagatedBlock>;

/**
 * Honours sampling decisions the application propagated in headers, which
 * espan's eSpans carry as `espan.propagated.sampled` (W3C/B3) and
 * `espan.propagated.priority` (Datadog). A keep anywhere in the trace wins
 * over a reject elsewhere: the upstream service decided to keep it.
 */
export class Propagated implements PolicyEvaluator {
  constructor(private readonly config: PropagatedConfig) {}

  evaluate(trace: TraceData): Decision {
    let rejected = false;
    for (const s of trace.spans) {
      const sampled = s.attributes[ESPAN.PROPAGATED_SAMPLED];
      const priority = numericValue(s.attributes[ESPAN.PROPAGATED_PRIORITY]);
      if (sampled === true || (priority !== undefined && priority > 0)) return Decision.Sampled;
      if (sampled === false || (priority !== undefined && priority <= 0)) rejected = true;
    }
    return rejected && this.config.drop_not_sampled ? Decision.Dropped : Decision.NotSampled;
  }
}
