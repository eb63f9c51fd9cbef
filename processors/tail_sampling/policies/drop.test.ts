import { expect } from 'chai';
import { span, trace } from '../testutil';
import { Drop } from './drop';
import { Decision, type PolicyEvaluator } from './policy';

const vote = (d: Decision): PolicyEvaluator => ({ evaluate: () => d });

describe('tail_sampling drop', () => {
  const t = trace([span()]);

  it('votes dropped when every sub-policy samples', () => {
    expect(new Drop([vote(Decision.Sampled), vote(Decision.InvertSampled)]).evaluate(t)).to.equal(Decision.Dropped);
  });

  it('votes not sampled (no effect) when any sub-policy does not sample', () => {
    expect(new Drop([vote(Decision.Sampled), vote(Decision.NotSampled)]).evaluate(t)).to.equal(Decision.NotSampled);
    expect(new Drop([vote(Decision.InvertNotSampled)]).evaluate(t)).to.equal(Decision.NotSampled);
  });
});
