import { expect } from 'chai';
import { span, trace } from '../testutil';
import { NumericAttribute } from './numeric_attribute';
import { Decision } from './policy';

describe('tail_sampling numeric_attribute', () => {
  const cfg = { key: 'http.response.status_code', min_value: 500, max_value: 599, invert_match: false };

  it('samples when a span attribute is in range, bounds inclusive', () => {
    const p = new NumericAttribute(cfg);
    expect(p.evaluate(trace([span({ attrs: { 'http.response.status_code': 200 } }), span({ attrs: { 'http.response.status_code': 500 } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ attrs: { 'http.response.status_code': 599 } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ attrs: { 'http.response.status_code': 404 } })]))).to.equal(Decision.NotSampled);
    expect(p.evaluate(trace([span({ attrs: {} })]))).to.equal(Decision.NotSampled);
  });

  it('reads resource attributes and bigint values', () => {
    const p = new NumericAttribute({ ...cfg, key: 'k' });
    expect(p.evaluate(trace([span({ resourceAttrs: { k: 550n } })]))).to.equal(Decision.Sampled);
  });

  it('treats 0 as an unset bound, as the Collector does', () => {
    const p = new NumericAttribute({ key: 'k', min_value: 50, max_value: 0, invert_match: false });
    expect(p.evaluate(trace([span({ attrs: { k: 1e9 } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ attrs: { k: 49 } })]))).to.equal(Decision.NotSampled);
  });

  it('invert_match votes inverted: not sampled when any span matches', () => {
    const p = new NumericAttribute({ ...cfg, invert_match: true });
    expect(p.evaluate(trace([span({ attrs: { 'http.response.status_code': 503 } })]))).to.equal(Decision.InvertNotSampled);
    expect(p.evaluate(trace([span({ attrs: { 'http.response.status_code': 200 } })]))).to.equal(Decision.InvertSampled);
  });
});
