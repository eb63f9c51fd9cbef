import { expect } from 'chai';
import { ESPAN } from '../../../core/semconv';
import { span, trace } from '../testutil';
import { Decision } from './policy';
import { Propagated } from './propagated';

describe('tail_sampling propagated (espan)', () => {
  const p = new Propagated({ drop_not_sampled: false });
  const strict = new Propagated({ drop_not_sampled: true });

  it('samples when the W3C sampled flag or a positive Datadog priority came in headers', () => {
    expect(p.evaluate(trace([span(), span({ attrs: { [ESPAN.PROPAGATED_SAMPLED]: true } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ attrs: { [ESPAN.PROPAGATED_PRIORITY]: 2 } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ attrs: { [ESPAN.PROPAGATED_PRIORITY]: 1n } })]))).to.equal(Decision.Sampled);
  });

  it('a keep anywhere wins over a reject elsewhere', () => {
    const t = trace([span({ attrs: { [ESPAN.PROPAGATED_SAMPLED]: false } }), span({ attrs: { [ESPAN.PROPAGATED_SAMPLED]: true } })]);
    expect(strict.evaluate(t)).to.equal(Decision.Sampled);
  });

  it('a propagated reject votes not sampled, or dropped with drop_not_sampled', () => {
    const rejected = trace([span({ attrs: { [ESPAN.PROPAGATED_PRIORITY]: -1 } })]);
    expect(p.evaluate(rejected)).to.equal(Decision.NotSampled);
    expect(strict.evaluate(rejected)).to.equal(Decision.Dropped);
    expect(strict.evaluate(trace([span({ attrs: { [ESPAN.PROPAGATED_SAMPLED]: false } })]))).to.equal(Decision.Dropped);
  });

  it('no propagated decision: not sampled, never dropped', () => {
    expect(strict.evaluate(trace([span()]))).to.equal(Decision.NotSampled);
  });
});
