import { Decision, type PolicyEvaluator, type TraceData } from './policy';

/** Sampled only when every sub-policy samples (an inverted sample counts as a sample). */
export class And implements PolicyEvaluator {
  constructor(private readonly subPolicies: PolicyEvaluator[]) {}

  evaluate(trace: TraceData): Decision {
    for (const p of this.subPolicies) {
      const d = p.evaluate(trace);
      if (d === Decision.NotSampled || d === Decision.InvertNotSampled || d === Decision.Error) return Decision.NotSampled;
    }
    return Decision.Sampled;
  }
}
