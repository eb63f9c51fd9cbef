import { expect } from 'chai';
import { span, trace } from '../testutil';
import { Decision } from './policy';
import { StringAttribute } from './string_attribute';

describe('tail_sampling string_attribute', () => {
  const base = { key: 'url.path', values: ['/health', '/metrics'], enabled_regex_matching: false, cache_max_size: 0, invert_match: false };

  it('matches exact values on spans and resources', () => {
    const p = new StringAttribute(base);
    expect(p.evaluate(trace([span({ attrs: { 'url.path': '/health' } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ attrs: { 'url.path': '/healthz' } })]))).to.equal(Decision.NotSampled);
    expect(p.evaluate(trace([span({ resourceAttrs: { 'url.path': '/metrics' } })]))).to.equal(Decision.Sampled);
  });

  it('matches regular expressions, unanchored as in the Collector, and caches results within its bound', () => {
    const p = new StringAttribute({ ...base, values: ['^/api/v[0-9]+/', 'val'], enabled_regex_matching: true, cache_max_size: 2 });
    expect(p.evaluate(trace([span({ attrs: { 'url.path': '/api/v2/users' } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ attrs: { 'url.path': '/interval' } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ attrs: { 'url.path': '/other' } })]))).to.equal(Decision.NotSampled);
    for (let i = 0; i < 10; i++) expect(p.evaluate(trace([span({ attrs: { 'url.path': `/api/v${i}/x` } })]))).to.equal(Decision.Sampled);
  });

  it('ignores non-string and empty values', () => {
    const p = new StringAttribute({ ...base, values: ['', '1'] });
    expect(p.evaluate(trace([span({ attrs: { 'url.path': 1 } })]))).to.equal(Decision.NotSampled);
    expect(p.evaluate(trace([span({ attrs: { 'url.path': '' } })]))).to.equal(Decision.NotSampled);
  });

  it('invert_match votes inverted', () => {
    const p = new StringAttribute({ ...base, invert_match: true });
    expect(p.evaluate(trace([span({ attrs: { 'url.path': '/health' } })]))).to.equal(Decision.InvertNotSampled);
    expect(p.evaluate(trace([span({ attrs: { 'url.path': '/orders' } })]))).to.equal(Decision.InvertSampled);
  });
});
