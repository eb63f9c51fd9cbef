import { expect } from 'chai';
import { span, trace } from '../testutil';
import { Decision } from './policy';
import { SpanCount } from './span_count';

describe('tail_sampling span_count', () => {
  const spans = (n: number) => trace(Array.from({ length: n }, () => span()));

  it('samples counts in [min, max], inclusive', () => {
    const p = new SpanCount({ min_spans: 2, max_spans: 3 });
    expect(p.evaluate(spans(1))).to.equal(Decision.NotSampled);
    expect(p.evaluate(spans(2))).to.equal(Decision.Sampled);
    expect(p.evaluate(spans(3))).to.equal(Decision.Sampled);
    expect(p.evaluate(spans(4))).to.equal(Decision.NotSampled);
  });

  it('max_spans 0 means no upper bound', () => {
    expect(new SpanCount({ min_spans: 2, max_spans: 0 }).evaluate(spans(100))).to.equal(Decision.Sampled);
  });
});
