import { setting, type ConfigOf } from '../../../core/config/schema';
import type { Attributes } from '../../../core/signals';
import { anyResourceOrSpan, Decision, noResourceOrSpan, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const booleanAttributeBlock = {
  key: setting.string('', 'resource or span attribute to look at (required)'),
  value: setting.bool(false, 'the value that samples'),
  invert_match: setting.bool(false, "vote the Collector's inverted decisions: not sampled when it matches"),
};

export type BooleanAttributeConfig = ConfigOf<typeof booleanAttributeBlock>;

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
