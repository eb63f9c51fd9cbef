import { Decision, type PolicyContext, type PolicyEvaluator, type TraceData } from './policy';

export interface CompositeSubPolicy {
  name: string;
  evaluator: PolicyEvaluator;
  /** spans per second this sub-policy may sample */
  maxSpansPerSecond: number;
}

/**
 * Sub-policies in `policy_order`; the first that samples decides, within its
 * share of `max_total_spans_per_second` per wall-clock second. Over its share
 * the trace is not sampled, and the next sub-policies are not asked (as in the
 * Collector): a large trace over budget leaves room for smaller ones.
 */
export class Composite implements PolicyEvaluator {
  private currentSecond = -1;
  private readonly sampledThisSecond: number[];

  constructor(
    private readonly subPolicies: CompositeSubPolicy[],
    private readonly maxTotalSpansPerSecond: number,
    private readonly ctx: PolicyContext,
  ) {
    this.sampledThisSecond = subPolicies.map(() => 0);
  }

  evaluate(trace: TraceData): Decision {
    const second = Math.floor(this.ctx.now() / 1000);
    if (second !== this.currentSecond) {
      this.currentSecond = second;
      this.sampledThisSecond.fill(0);
    }
    const n = trace.spans.length;
    for (let i = 0; i < this.subPolicies.length; i++) {
      const sub = this.subPolicies[i];
      const d = sub.evaluator.evaluate(trace);
      if (d !== Decision.Sampled && d !== Decision.InvertSampled) continue;
      const after = this.sampledThisSecond[i] + n;
      if (after <= sub.maxSpansPerSecond && after <= this.maxTotalSpansPerSecond) {
        this.sampledThisSecond[i] = after;
        return Decision.Sampled;
      }
      return Decision.NotSampled;
    }
    return Decision.NotSampled;
  }
}

/**
 * Spans per second per sub-policy: `percent` of the total for those named in
 * `rate_allocation` (a percent of 0 means an equal share), nothing for the
 * others, exactly as the Collector allocates.
 */
export function rateAllocation(
  maxTotal: number,
  subPolicyCount: number,
  allocations: Array<{ policy: string; percent: number }>,
): Map<string, number> {
  const equalShare = subPolicyCount > 0 ? maxTotal / subPolicyCount : 0;
  const m = new Map<string, number>();
  for (const a of allocations) m.set(a.policy, a.percent > 0 ? (a.percent / 100) * maxTotal : equalShare);
  return m;
}
