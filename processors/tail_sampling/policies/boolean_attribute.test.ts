import { expect } from 'chai';
import { span, trace } from '../testutil';
import { BooleanAttribute } from './boolean_attribute';
import { Decision } from './policy';

describe('tail_sampling boolean_attribute', () => {
  it('samples when a span or resource has the attribute with the value', () => {
    const p = new BooleanAttribute({ key: 'app.force_sample', value: true, invert_match: false });
    expect(p.evaluate(trace([span({ attrs: { 'app.force_sample': true } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ resourceAttrs: { 'app.force_sample': true } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ attrs: { 'app.force_sample': false } })]))).to.equal(Decision.NotSampled);
    expect(p.evaluate(trace([span({ attrs: { 'app.force_sample': 'true' } })]))).to.equal(Decision.NotSampled);
  });

  it('invert_match votes inverted', () => {
    const p = new BooleanAttribute({ key: 'k', value: true, invert_match: true });
    expect(p.evaluate(trace([span({ attrs: { k: true } })]))).to.equal(Decision.InvertNotSampled);
    expect(p.evaluate(trace([span({ attrs: { k: false } })]))).to.equal(Decision.InvertSampled);
  });
});
