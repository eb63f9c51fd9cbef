import { Decision, type PolicyEvaluator } from './policy';

export class AlwaysSample implements PolicyEvaluator {
  evaluate(): Decision {
    return Decision.Sampled;
  }
}
