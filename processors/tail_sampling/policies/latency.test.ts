import { expect } from 'chai';
import { span, trace } from '../testutil';
import { Latency } from './latency';
import { Decision } from './policy';

describe('tail_sampling latency', () => {
  const t = (ms: number) => trace([span({ startMs: 100, durationMs: 1 }), span({ startMs: 100 + ms - 1, durationMs: 1 })]);

  it('measures earliest start to latest end, inclusive threshold without an upper bound', () => {
    const p = new Latency({ threshold_ms: 50, upper_threshold_ms: 0 });
    expect(p.evaluate(t(49))).to.equal(Decision.NotSampled);
    expect(p.evaluate(t(50))).to.equal(Decision.Sampled);
    expect(p.evaluate(t(5000))).to.equal(Decision.Sampled);
  });

  it('with an upper bound samples (threshold, upper]', () => {
    const p = new Latency({ threshold_ms: 50, upper_threshold_ms: 100 });
    expect(p.evaluate(t(50))).to.equal(Decision.NotSampled);
    expect(p.evaluate(t(51))).to.equal(Decision.Sampled);
    expect(p.evaluate(t(100))).to.equal(Decision.Sampled);
    expect(p.evaluate(t(101))).to.equal(Decision.NotSampled);
  });
});
