import { expect } from 'chai';
import { span, trace } from '../testutil';
import { AlwaysSample } from './always_sample';
import { And } from './and';
import { Decision, type PolicyEvaluator } from './policy';

const vote = (d: Decision): PolicyEvaluator => ({ evaluate: () => d });

describe('tail_sampling and', () => {
  const t = trace([span()]);

  it('samples only when every sub-policy samples', () => {
    expect(new And([new AlwaysSample(), vote(Decision.Sampled)]).evaluate(t)).to.equal(Decision.Sampled);
    expect(new And([new AlwaysSample(), vote(Decision.NotSampled)]).evaluate(t)).to.equal(Decision.NotSampled);
  });

  it('turns inverted votes into plain ones', () => {
    expect(new And([vote(Decision.InvertSampled), new AlwaysSample()]).evaluate(t)).to.equal(Decision.Sampled);
    expect(new And([vote(Decision.InvertNotSampled), new AlwaysSample()]).evaluate(t)).to.equal(Decision.NotSampled);
  });

  it('stops at the first not-sampled vote', () => {
    let asked = false;
    const spy: PolicyEvaluator = { evaluate: () => ((asked = true), Decision.Sampled) };
    new And([vote(Decision.NotSampled), spy]).evaluate(t);
    expect(asked).to.equal(false);
  });
});
