import { TwoGenerationMap } from '../../../core/collections/two-generation-map';
import { setting, type ConfigOf } from '../../../core/config/schema';
import type { Attributes } from '../../../core/signals';
import { anyResourceOrSpan, Decision, noResourceOrSpan, type PolicyEvaluator, type TraceData } from './policy';

/** The policy's block, as the Collector's config. */
export const stringAttributeBlock = {
  key: setting.string('', 'resource or span attribute to look at (required)'),
  values: setting.stringList([], 'values that sample'),
  enabled_regex_matching: setting.bool(false, 'values are regular expressions, unanchored as in the Collector'),
  cache_max_size: setting.int(0, 'regex results remembered per attribute value; 0 means 128, as in the Collector'),
  invert_match: setting.bool(false, "vote the Collector's inverted decisions: not sampled when it matches"),
};

export type StringAttributeConfig = ConfigOf<typeof stringAttributeBlock>;

const DEFAULT_CACHE_SIZE = 128;

/**
 * Samples traces with a resource or span attribute `key` equal to one of
 * `values`, or matching one of them as a regular expression. Like the
 * Collector's, the expressions are not anchored: `val` matches "interval".
 */
export class StringAttribute implements PolicyEvaluator {
  private readonly test: (attributes: Attributes) => boolean;

  constructor(private readonly config: StringAttributeConfig) {
    const key = config.key;
    let matches: (s: string) => boolean;
    if (config.enabled_regex_matching) {
      const patterns = config.values.map((v) => new RegExp(v));
      const cacheSize = config.cache_max_size > 0 ? config.cache_max_size : DEFAULT_CACHE_SIZE;
      // attribute values repeat a lot (routes, service names): remember results
      const results = new TwoGenerationMap<string, boolean>(cacheSize);
      matches = (s) => {
        let hit = results.getAndRenew(s);
        if (hit === undefined) {
          hit = patterns.some((p) => p.test(s));
          results.set(s, hit);
        }
        return hit;
      };
    } else {
      const set = new Set(config.values.filter((v) => v !== ''));
      matches = (s) => set.has(s);
    }
    this.test = (attributes) => {
      const v = attributes[key];
      return typeof v === 'string' && v !== '' && matches(v);
    };
  }

  evaluate(trace: TraceData): Decision {
    return this.config.invert_match ? noResourceOrSpan(trace, this.test) : anyResourceOrSpan(trace, this.test);
  }
}
