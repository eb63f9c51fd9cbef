import { Decision, type PolicyEvaluator, type TraceData } from './policy';

/** Dropped when every sub-policy samples; that vote overrides every other policy. */
export class Drop implements PolicyEvaluator {
  constructor(private readonly subPolicies: PolicyEvaluator[]) {}

  evaluate(trace: TraceData): Decision {
    for (const p of this.subPolicies) {
      const d = p.evaluate(trace);
      if (d === Decision.NotSampled || d === Decision.InvertNotSampled || d === Decision.Error) return Decision.NotSampled;
    }
    return Decision.Dropped;
  }
}
