import type { Attributes } from '../../../core/signals';
import { anyResourceOrSpan, Decision, noResourceOrSpan, numericValue, type PolicyEvaluator, type TraceData } from './policy';

export interface NumericAttributeConfig {
  key: string;
  /** 0 means unset, as in the Collector */
  min_value: number;
  max_value: number;
  invert_match: boolean;
}

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
