import type { Attributes } from '../../../core/signals';
import { anyResourceOrSpan, Decision, noResourceOrSpan, type PolicyEvaluator, type TraceData } from './policy';

export interface BooleanAttributeConfig {
  key: string;
  value: boolean;
  invert_match: boolean;
}

/** Samples traces with a resource or span attribute `key` equal to `value`. */
export class BooleanAttribute implements PolicyEvaluator {
  private readonly test: (attributes: Attributes) => boolean;

  constructor(private readonly config: BooleanAttributeConfig) {
    this.test = (attributes) => attributes[config.key] === config.value;
  }

  evaluate(trace: TraceData): Decision {
    return this.config.invert_match ? noResourceOrSpan(trace, this.test) : anyResourceOrSpan(trace, this.test);
  }
}
