/** Turns a checked policy config into its evaluator, as the Collector's getPolicyEvaluator. */
import type { PolicyConfig } from '../config';
import { AlwaysSample } from './always_sample';
import { And } from './and';
import { BooleanAttribute } from './boolean_attribute';
import { Composite, rateAllocation } from './composite';
import { Drop } from './drop';
import { Latency } from './latency';
import { NumericAttribute } from './numeric_attribute';
import type { PolicyContext, PolicyEvaluator } from './policy';
import { Probabilistic } from './probabilistic';
import { Propagated } from './propagated';
import { RateLimiting } from './rate_limiting';
import { SpanCount } from './span_count';
import { StatusCodeFilter } from './status_code';
import { StringAttribute } from './string_attribute';
import { TraceState } from './trace_state';

export function buildPolicy(p: PolicyConfig, ctx: PolicyContext): PolicyEvaluator {
  switch (p.type) {
    case 'always_sample':
      return new AlwaysSample();
    case 'latency':
      return new Latency(p.latency!);
    case 'numeric_attribute':
      return new NumericAttribute(p.numeric_attribute!);
    case 'probabilistic':
      return new Probabilistic(p.probabilistic!);
    case 'status_code':
      return new StatusCodeFilter(p.status_code!);
    case 'string_attribute':
      return new StringAttribute(p.string_attribute!);
    case 'rate_limiting':
      return new RateLimiting(p.rate_limiting!, ctx);
    case 'span_count':
      return new SpanCount(p.span_count!);
    case 'trace_state':
      return new TraceState(p.trace_state!);
    case 'boolean_attribute':
      return new BooleanAttribute(p.boolean_attribute!);
    case 'propagated':
      return new Propagated(p.propagated!);
    case 'and':
      return new And(p.and!.and_sub_policy.map((s) => buildPolicy(s, ctx)));
    case 'drop':
      return new Drop(p.drop!.drop_sub_policy.map((s) => buildPolicy(s, ctx)));
    case 'composite': {
      const c = p.composite!;
      const shares = rateAllocation(c.max_total_spans_per_second, c.composite_sub_policy.length, c.rate_allocation);
      // Evaluated in composite_sub_policy order with 0 spans/s for sub-policies
      // absent from rate_allocation: what the Collector does (policy_order is only checked).
      const subs = c.composite_sub_policy.map((s) => ({ name: s.name, evaluator: buildPolicy(s, ctx), maxSpansPerSecond: shares.get(s.name) ?? 0 }));
      return new Composite(subs, c.max_total_spans_per_second, ctx);
    }
    default:
      throw new Error(`unknown sampling policy type ${p.type}`);
  }
}
