import { expect } from 'chai';
import { span, trace } from '../testutil';
import { AlwaysSample } from './always_sample';
import { Composite, rateAllocation } from './composite';
import { Decision, type PolicyEvaluator } from './policy';
import { StringAttribute } from './string_attribute';

describe('tail_sampling composite', () => {
  const vip = new StringAttribute({ key: 'tier', values: ['vip'], enabled_regex_matching: false, cache_max_size: 0, invert_match: false });
  const vipTrace = (n: number) => trace(Array.from({ length: n }, () => span({ attrs: { tier: 'vip' } })));
  const plainTrace = (n: number) => trace(Array.from({ length: n }, () => span()));

  it('allocates percent of the total per named sub-policy, an equal share for percent 0, nothing for the unnamed', () => {
    const m = rateAllocation(100, 4, [
      { policy: 'a', percent: 50 },
      { policy: 'b', percent: 0 },
    ]);
    expect(m.get('a')).to.equal(50);
    expect(m.get('b')).to.equal(25);
    expect(m.has('c')).to.equal(false);
  });

  it('the first sampling sub-policy decides within its share of each second', () => {
    let now = 10_000;
    const c = new Composite(
      [
        { name: 'vip', evaluator: vip, maxSpansPerSecond: 5 },
        { name: 'rest', evaluator: new AlwaysSample(), maxSpansPerSecond: 3 },
      ],
      6,
      { now: () => now },
    );
    expect(c.evaluate(vipTrace(3))).to.equal(Decision.Sampled);
    expect(c.evaluate(vipTrace(3))).to.equal(Decision.NotSampled); // 6 > vip share 5
    expect(c.evaluate(vipTrace(2))).to.equal(Decision.Sampled); // a smaller one still fits
    expect(c.evaluate(plainTrace(2))).to.equal(Decision.Sampled);
    expect(c.evaluate(plainTrace(2))).to.equal(Decision.NotSampled); // rest share 3
    now += 1000;
    expect(c.evaluate(vipTrace(5))).to.equal(Decision.Sampled);
  });

  it('a sub-policy that samples but is over budget does not fall through to the next', () => {
    const c = new Composite(
      [
        { name: 'vip', evaluator: vip, maxSpansPerSecond: 0 },
        { name: 'rest', evaluator: new AlwaysSample(), maxSpansPerSecond: 100 },
      ],
      100,
      { now: () => 0 },
    );
    expect(c.evaluate(vipTrace(1))).to.equal(Decision.NotSampled);
    expect(c.evaluate(plainTrace(1))).to.equal(Decision.Sampled);
  });

  it('nothing samples: not sampled', () => {
    const never: PolicyEvaluator = { evaluate: () => Decision.NotSampled };
    expect(new Composite([{ name: 'n', evaluator: never, maxSpansPerSecond: 10 }], 10, { now: () => 0 }).evaluate(plainTrace(1))).to.equal(Decision.NotSampled);
  });
});
