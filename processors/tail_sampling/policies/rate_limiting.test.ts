import { expect } from 'chai';
import { span, trace } from '../testutil';
import { Decision } from './policy';
import { RateLimiting } from './rate_limiting';

describe('tail_sampling rate_limiting', () => {
  it('lets through a burst of twice the rate, then refills at the rate', () => {
    let now = 0;
    const p = new RateLimiting({ spans_per_second: 10 }, { now: () => now });
    const five = trace([span(), span(), span(), span(), span()]);
    expect(p.evaluate(five)).to.equal(Decision.Sampled);
    expect(p.evaluate(five)).to.equal(Decision.Sampled);
    expect(p.evaluate(five)).to.equal(Decision.Sampled);
    expect(p.evaluate(five)).to.equal(Decision.Sampled);
    expect(p.evaluate(five)).to.equal(Decision.NotSampled);
    now = 500; // 5 tokens back
    expect(p.evaluate(five)).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span()]))).to.equal(Decision.NotSampled);
  });

  it('never passes a trace larger than the burst', () => {
    const p = new RateLimiting({ spans_per_second: 1 }, { now: () => 0 });
    expect(p.evaluate(trace([span(), span(), span()]))).to.equal(Decision.NotSampled);
  });
});
