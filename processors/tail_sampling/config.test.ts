import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { resolveConfig } from '../../core/config/schema';
import { checkPolicies, schema, type TailSamplingConfig } from './config';
import { tailSamplingFactory } from './factory';
import { TailSampler } from './sampler';
import { telemetry } from './testutil';

const testdata = (f: string) => parse(fs.readFileSync(path.join(__dirname, 'testdata', f), 'utf8'));

describe('tail_sampling config', () => {
  it("loads the Collector's own testdata block unchanged", () => {
    const { config, problems } = resolveConfig<TailSamplingConfig>(schema, testdata('config.yaml').tail_sampling);
    expect(problems).to.deep.equal([]);
    expect(config!.decision_wait).to.equal(10_000);
    expect(config!.num_traces).to.equal(100);
    expect(config!.policies).to.have.length(11);
    expect(config!.policies[10].composite!.rate_allocation[1]).to.deep.equal({ policy: 'test-composite-policy-2', percent: 25 });
    const sampler = new TailSampler(config!, { now: () => 0 }, telemetry());
    expect(sampler.size).to.equal(0);
  });

  it("loads the README example (supported policies) including 100_000 cache sizes", () => {
    const { config, problems } = resolveConfig<TailSamplingConfig>(schema, testdata('readme_example.yaml').processors.tail_sampling);
    expect(problems).to.deep.equal([]);
    expect(config!.decision_cache.sampled_cache_size).to.equal('100_000');
    expect(() => tailSamplingFactory.create(config!, { telemetry: telemetry() } as never)).not.to.throw();
  });

  it('fills defaults as the Collector does', () => {
    const { config } = resolveConfig<TailSamplingConfig>(schema, { policies: [{ name: 'a', type: 'always_sample' }] });
    expect(config).to.deep.include({ decision_wait: 30_000, num_traces: 50_000, expected_new_traces_per_sec: 0, sample_on_first_match: false });
    expect(config!.decision_cache).to.deep.equal({ sampled_cache_size: '0', non_sampled_cache_size: '0' });
  });

  it('requires policies', () => {
    const { problems } = resolveConfig<TailSamplingConfig>(schema, {});
    expect(problems).to.have.length(1);
    expect(problems[0].path).to.equal('policies');
    expect(problems[0].message).to.match(/at least one policy/);
  });

  it('names the key path of a bad policy setting, nested ones included', () => {
    const { problems } = resolveConfig<TailSamplingConfig>(schema, {
      policies: [
        { name: 'ok', type: 'always_sample' },
        { name: 'slow', type: 'latency', latency: { threshold_ms: '5s' } },
        { name: 'both', type: 'and', and: { and_sub_policy: [{ name: 'x', type: 'string_attribute', string_attribute: { key: 'k', valuez: ['a'] } }] } },
      ],
    });
    expect(problems).to.have.length(1);
    expect(problems[0].message).to.contain('policies[1].latency.threshold_ms (policy "slow"): expected a number, got string "5s"');
    expect(problems[0].message).to.contain('policies[2].and.and_sub_policy[0].string_attribute.valuez (policy "x"): unknown key');
    expect(problems[0].message).not.to.contain('value was');
  });

  it('checks types, nesting, required keys, names and references', () => {
    const paths = (v: unknown) => checkPolicies(v).map((p) => p.path);
    expect(paths([{ name: 'a', type: 'ottl_condition' }])).to.deep.equal(['policies[0].type (policy "a")']);
    expect(checkPolicies([{ name: 'a', type: 'ottl_condition' }])[0].message).to.match(/does not implement/);
    expect(paths([{ name: 'a', type: 'and', and: { and_sub_policy: [{ name: 'b', type: 'composite' }] } }])).to.deep.equal(['policies[0].and.and_sub_policy[0].type (policy "b")']);
    expect(paths([{ name: 'a', type: 'numeric_attribute', numeric_attribute: { min_value: 1 } }])).to.deep.equal(['policies[0].numeric_attribute.key (policy "a")']);
    expect(paths([{ name: 'a', type: 'always_sample' }, { name: 'a', type: 'always_sample' }])).to.deep.equal(['policies[1].name']);
    expect(paths([{ name: 'a', type: 'status_code', status_code: { status_codes: ['FAIL'] } }])).to.deep.equal(['policies[0].status_code.status_codes[0]']);
    expect(paths([{ name: 'a', type: 'string_attribute', string_attribute: { key: 'k', values: ['('], enabled_regex_matching: true } }])).to.deep.equal(['policies[0].string_attribute.values[0]']);
    expect(
      paths([{ name: 'c', type: 'composite', composite: { max_total_spans_per_second: 1, policy_order: ['nope'], composite_sub_policy: [{ name: 's', type: 'always_sample' }], rate_allocation: [{ policy: 's', percent: 120 }] } }]),
    ).to.deep.equal(['policies[0].composite.policy_order[0]', 'policies[0].composite.rate_allocation']);
    expect(paths([{ name: 'p', type: 'probabilistic', probabilistic: { sampling_percentage: 101 } }])).to.deep.equal(['policies[0].probabilistic.sampling_percentage']);
    expect(paths([{ name: 'p', type: 'propagated', propagated: { drop_not_sampled: true } }])).to.deep.equal([]);
  });

  it('rejects bad top-level values with the key name', () => {
    const { problems } = resolveConfig<TailSamplingConfig>(schema, { decision_wait: 'soon', policies: [{ name: 'a', type: 'always_sample' }] });
    expect(problems.map((p) => p.path)).to.deep.equal(['decision_wait']);
  });
});
