import { setting, type ConfigOf } from '../../../core/config/schema';
import type { Attributes } from '../../../core/signals';
import { anyResourceOrSpan, Decision, noResourceOrSpan, numericValue, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const numericAttributeBlock = {
  key: setting.string('', 'resource or span attribute to look at (required)'),
  min_value: setting.int(0, 'lowest value that samples; 0 means unset, as in the Collector'),
  max_value: setting.int(0, 'highest value that samples; 0 means unset'),
  invert_match: setting.bool(false, "vote the Collector's inverted decisions: not sampled when it matches"),
};

export type NumericAttributeConfig = ConfigOf<typeof numericAttributeBlock>;

/** Samples traces with a resource or span attribute `key` whose integer value lies in [min_value, max_value]. */
export class NumericAttribute implements PolicyEvaluator {
  private readonly inRange: (attributes: Attributes) => boolean;

  constructor(private readonly config: NumericAttributeConfig) {
    const min = config.min_value !== 0 ? config.min_value : -Infinity;
    const max = config.max_value !== 0 ? config.max_value : Infinity;
    const key = config.key;
    this.inRange = (attributes) => {
      const v = numericValue(attributes[key]);
      return v !== undefined && v >= min && v <= max;
    };
  }

  evaluate(trace: TraceData): Decision {
    return this.config.invert_match ? noResourceOrSpan(trace, this.inRange) : anyResourceOrSpan(trace, this.inRange);
  }
}
