import { expect } from 'chai';
import { resolveConfig } from '../../core/config/schema';
import { StatusCode } from '../../core/signals';
import { schema, type TailSamplingConfig } from './config';
import { Decision } from './policies/policy';
import { finalDecision, TailSampler } from './sampler';
import { idOf, span, telemetry, trace } from './testutil';

function sampler(policies: unknown[], over: Record<string, unknown> = {}) {
  const { config, problems } = resolveConfig<TailSamplingConfig>(schema, { decision_wait: '1s', ...over, policies });
  expect(problems).to.deep.equal([]);
  const clock = { t: 0, now: () => clock.t };
  const tel = telemetry();
  return { s: new TailSampler(config!, clock, tel), clock, tel };
}

const errors = { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } };
const errSpan = (id: string) => span({ traceId: id, status: { code: StatusCode.ERROR } });
const okSpan = (id: string) => span({ traceId: id });
const only = <T>(items: T[]): T => {
  expect(items).to.have.length(1);
  return items[0];
};

describe('tail_sampling sampler', () => {
  it('final decision follows the Collector precedence', () => {
    const d = (...v: Decision[]) => finalDecision(new Set(v));
    expect(d(Decision.Sampled, Decision.Dropped)).to.equal(Decision.Dropped);
    expect(d(Decision.Sampled, Decision.InvertNotSampled)).to.equal(Decision.NotSampled);
    expect(d(Decision.Sampled, Decision.NotSampled)).to.equal(Decision.Sampled);
    expect(d(Decision.InvertSampled)).to.equal(Decision.Sampled);
    expect(d(Decision.InvertSampled, Decision.NotSampled)).to.equal(Decision.NotSampled);
    expect(d(Decision.Error)).to.equal(Decision.NotSampled);
    expect(d()).to.equal(Decision.NotSampled);
  });

  it('waits decision_wait from the first span, gathering every span of the trace', () => {
    const { s, clock } = sampler([errors]);
    const a = idOf(1);
    expect(s.add([trace([okSpan(a)])])).to.deep.equal([]);
    clock.t = 500;
    s.add([trace([errSpan(a)])]);
    expect(s.tick()).to.deep.equal([]);
    clock.t = 1000;
    const out = s.tick();
    expect(out).to.have.length(1);
    expect(out[0].spans).to.have.length(2);
  });

  it("leaves the producer's traces and lists as they came: one in one part is passed on as it came, one in two parts gathered in a trace of its own", () => {
    const { s, clock } = sampler([errors]);
    const single = trace([errSpan(idOf(1))]);
    const first = trace([errSpan(idOf(2))]);
    const second = trace([okSpan(idOf(2)), okSpan(idOf(2))]);
    s.add([single, first]);
    s.add([second]);
    clock.t = 1000;
    const [a, b] = s.tick();
    expect(a).to.equal(single);
    expect(b).to.not.equal(first);
    expect(b.spans).to.deep.equal([...first.spans, ...second.spans]);
    expect(first.spans).to.have.length(1);
    expect(second.spans).to.have.length(2);
  });

  it('late spans follow the decision their trace got', async () => {
    const { s, clock, tel } = sampler([errors]);
    const kept = idOf(1);
    const dropped = idOf(2);
    s.add([trace([errSpan(kept)]), trace([okSpan(dropped)])]);
    clock.t = 1000;
    expect(s.tick().map((t) => t.traceId)).to.deep.equal([kept]);
    const late = s.add([trace([okSpan(kept)]), trace([errSpan(dropped)])]);
    expect(late.map((t) => t.traceId)).to.deep.equal([kept]);
    expect(await tel.metrics.total('espan_tail_sampling_late_spans_total')).to.equal(2);
    expect(await tel.metrics.total('espan_processor_dropped_items_total', { reason: 'not_sampled' })).to.equal(2);
  });

  it('without a decision cache, a late span whose decision left memory starts over', () => {
    const { s, clock } = sampler([errors], { num_traces: 1 });
    s.add([trace([errSpan(idOf(1))])]);
    clock.t = 1000;
    s.tick();
    s.add([trace([okSpan(idOf(2))])]); // pushes the decided trace 1 out
    s.add([trace([okSpan(idOf(1))])]);
    clock.t = 2000;
    expect(s.tick().map((t) => t.traceId)).to.deep.equal([]);
  });

  it('the decision cache keeps decisions after the trace left memory', () => {
    const { s, clock } = sampler([errors], { num_traces: 2, decision_cache: { sampled_cache_size: 10, non_sampled_cache_size: 10 } });
    s.add([trace([errSpan(idOf(1))]), trace([okSpan(idOf(2))])]);
    clock.t = 1000;
    s.tick();
    s.add([trace([okSpan(idOf(3))])]);
    s.add([trace([okSpan(idOf(4))])]);
    // 1 and 2 left memory; the caches still know them
    expect(s.add([trace([okSpan(idOf(1))])]).map((t) => t.traceId)).to.deep.equal([idOf(1)]);
    expect(s.add([trace([errSpan(idOf(2))])])).to.deep.equal([]);
  });

  it('num_traces bounds memory; an undecided trace pushed out is counted as dropped too early', async () => {
    const { s, tel } = sampler([errors], { num_traces: 2 });
    s.add([trace([errSpan(idOf(1)), errSpan(idOf(1))]), trace([errSpan(idOf(2))]), trace([errSpan(idOf(3))])]);
    expect(s.size).to.equal(2);
    expect(await tel.metrics.total('espan_processor_dropped_items_total', { reason: 'trace_dropped_too_early' })).to.equal(2);
    expect(s.flush().map((t) => t.traceId)).to.deep.equal([idOf(2), idOf(3)]);
  });

  it('a trace id that left the ring and came back is pushed out by its new slot, not the old one', () => {
    const { s, clock } = sampler([errors], { num_traces: 2 });
    s.add([trace([okSpan(idOf(1))]), trace([okSpan(idOf(2))])]);
    clock.t = 1000;
    s.tick();
    s.add([trace([okSpan(idOf(3))])]); // pushes 1 out
    s.add([trace([errSpan(idOf(1))])]); // 1 is new again; pushes 2 out
    s.add([trace([errSpan(idOf(4))])]); // pushes 3 out, not the returned 1
    expect(s.size).to.equal(2);
    clock.t = 2000;
    expect(s.tick().map((t) => t.traceId)).to.deep.equal([idOf(1), idOf(4)]);
  });

  describe('traces linking released whole', () => {
    const whole = (spans: ReturnType<typeof span>[]) => ({ ...trace(spans), whole: true });

    it('are decided on arrival, while other traces still wait decision_wait', async () => {
      const { s, clock, tel } = sampler([errors]);
      const out = s.add([whole([errSpan(idOf(1)), okSpan(idOf(1))]), whole([okSpan(idOf(2))]), trace([errSpan(idOf(3))])]);
      expect(out.map((t) => t.traceId)).to.deep.equal([idOf(1)]);
      expect(out[0].spans).to.have.length(2);
      expect(await tel.metrics.total('espan_tail_sampling_traces_total')).to.equal(2);
      expect(await tel.metrics.total('espan_processor_dropped_items_total', { reason: 'not_sampled' })).to.equal(1);
      clock.t = 999;
      expect(s.tick()).to.deep.equal([]);
      clock.t = 1000;
      expect(s.tick().map((t) => t.traceId)).to.deep.equal([idOf(3)]);
    });

    it('their late spans follow the decision, also from the decision caches once the trace left memory', async () => {
      const { s, tel } = sampler([errors], { num_traces: 2, decision_cache: { sampled_cache_size: 10, non_sampled_cache_size: 10 } });
      s.add([whole([errSpan(idOf(1))]), whole([okSpan(idOf(2))])]);
      // still held, decided
      expect(s.add([trace([okSpan(idOf(1))]), trace([errSpan(idOf(2))])]).map((t) => t.traceId)).to.deep.equal([idOf(1)]);
      // pushed out of memory by two more traces: the caches answer
      s.add([whole([okSpan(idOf(3))]), whole([okSpan(idOf(4))])]);
      expect(s.size).to.equal(2);
      expect(s.add([whole([okSpan(idOf(1))]), whole([errSpan(idOf(2))])]).map((t) => t.traceId)).to.deep.equal([idOf(1)]);
      expect(await tel.metrics.total('espan_tail_sampling_late_spans_total', { decision: 'sampled' })).to.equal(2);
      expect(await tel.metrics.total('espan_tail_sampling_late_spans_total', { decision: 'not_sampled' })).to.equal(2);
      // each trace was decided once
      expect(await tel.metrics.total('espan_tail_sampling_traces_total')).to.equal(4);
    });

    it('a whole piece of a trace still waiting joins it and waits with it', () => {
      const { s, clock } = sampler([errors]);
      const first = okSpan(idOf(1));
      expect(s.add([trace([first])])).to.deep.equal([]);
      clock.t = 500;
      const rest = errSpan(idOf(1));
      expect(s.add([whole([rest])])).to.deep.equal([]);
      clock.t = 1000;
      expect(only(s.tick()).spans).to.deep.equal([first, rest]);
    });

    it('nothing is dropped too early under a burst larger than num_traces', async () => {
      const { s, tel } = sampler([{ name: 'all', type: 'always_sample' }], { num_traces: 10 });
      const burst = Array.from({ length: 1000 }, (_, i) => whole([okSpan(idOf(i + 1)), okSpan(idOf(i + 1))]));
      expect(s.add(burst).flatMap((t) => t.spans)).to.have.length(2000);
      expect(s.size).to.equal(10);
      expect(await tel.metrics.total('espan_processor_dropped_items_total', { reason: 'trace_dropped_too_early' })).to.equal(0);
      // a trace that must wait is still pushed out by ten newer ones, counted exactly
      const waiting = trace([okSpan(idOf(2000)), okSpan(idOf(2000)), okSpan(idOf(2000))]);
      s.add([waiting, ...Array.from({ length: 10 }, (_, i) => whole([okSpan(idOf(3000 + i))]))]);
      expect(await tel.metrics.total('espan_processor_dropped_items_total', { reason: 'trace_dropped_too_early' })).to.equal(3);
    });
  });

  it('a drop policy wins over a sampling one, and drop policies are asked first', async () => {
    const { s, clock, tel } = sampler([
      { name: 'all', type: 'always_sample' },
      {
        name: 'no-health',
        type: 'drop',
        drop: { drop_sub_policy: [{ name: 'health', type: 'string_attribute', string_attribute: { key: 'url.path', values: ['/health'] } }] },
      },
    ]);
    s.add([trace([span({ traceId: idOf(1), attrs: { 'url.path': '/health' } })]), trace([span({ traceId: idOf(2), attrs: { 'url.path': '/orders' } })])]);
    clock.t = 1000;
    expect(s.tick().map((t) => t.traceId)).to.deep.equal([idOf(2)]);
    expect(await tel.metrics.total('espan_tail_sampling_traces_total', { decision: 'dropped' })).to.equal(1);
    // dropped before always_sample was asked
    expect(await tel.metrics.total('espan_tail_sampling_policy_decisions_total', { policy: 'all' })).to.equal(1);
  });

  it('an invert_match not-sampled vote overrides other samples (Collector precedence)', () => {
    const { s, clock } = sampler([
      { name: 'all', type: 'always_sample' },
      { name: 'not-internal', type: 'string_attribute', string_attribute: { key: 'tier', values: ['internal'], invert_match: true } },
    ]);
    s.add([trace([span({ traceId: idOf(1), attrs: { tier: 'internal' } })]), trace([span({ traceId: idOf(2), attrs: { tier: 'web' } })])]);
    clock.t = 1000;
    expect(s.tick().map((t) => t.traceId)).to.deep.equal([idOf(2)]);
  });

  it('and + composite + drop together', () => {
    const { s, clock } = sampler([
      {
        name: 'slow-errors',
        type: 'and',
        and: {
          and_sub_policy: [
            { name: 'err', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
            { name: 'slow', type: 'latency', latency: { threshold_ms: 100 } },
          ],
        },
      },
      {
        name: 'budget',
        type: 'composite',
        composite: {
          max_total_spans_per_second: 2,
          policy_order: ['vip'],
          composite_sub_policy: [{ name: 'vip', type: 'string_attribute', string_attribute: { key: 'tier', values: ['vip'] } }],
          rate_allocation: [{ policy: 'vip', percent: 100 }],
        },
      },
      { name: 'no-bots', type: 'drop', drop: { drop_sub_policy: [{ name: 'bot', type: 'boolean_attribute', boolean_attribute: { key: 'bot', value: true } }] } },
    ]);
    s.add([
      trace([span({ traceId: idOf(1), status: { code: StatusCode.ERROR }, durationMs: 150 })]), // and: kept
      trace([span({ traceId: idOf(2), status: { code: StatusCode.ERROR }, durationMs: 50 })]), // fast error: no
      trace([span({ traceId: idOf(3), attrs: { tier: 'vip' } })]), // vip within budget
      trace([span({ traceId: idOf(4), attrs: { tier: 'vip' } }), span({ traceId: idOf(4), attrs: { tier: 'vip' } })]), // over budget
      trace([span({ traceId: idOf(5), attrs: { tier: 'vip', bot: true }, status: { code: StatusCode.ERROR }, durationMs: 500 })]), // bot: dropped
    ]);
    clock.t = 1000;
    expect(s.tick().map((t) => t.traceId)).to.deep.equal([idOf(1), idOf(3)]);
  });

  it('sample_on_first_match stops at the first sampling policy', async () => {
    const { s, clock, tel } = sampler(
      [
        { name: 'all', type: 'always_sample' },
        { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
      ],
      { sample_on_first_match: true },
    );
    s.add([trace([okSpan(idOf(1))])]);
    clock.t = 1000;
    expect(s.tick()).to.have.length(1);
    expect(await tel.metrics.total('espan_tail_sampling_policy_decisions_total', { policy: 'errors' })).to.equal(0);
  });

  it('drop_pending_traces_on_shutdown drops instead of deciding', async () => {
    const { s, tel } = sampler([{ name: 'all', type: 'always_sample' }], { drop_pending_traces_on_shutdown: true });
    s.add([trace([okSpan(idOf(1))])]);
    expect(s.flush()).to.deep.equal([]);
    expect(await tel.metrics.total('espan_processor_dropped_items_total', { reason: 'shutdown' })).to.equal(1);
  });

  it('a policy that throws votes error and does not stop the others', () => {
    const { s, clock } = sampler([
      { name: 'bad-regex-input', type: 'always_sample' },
      { name: 'all', type: 'always_sample' },
    ]);
    (s as unknown as { policies: Array<{ evaluator: { evaluate(): Decision } }> }).policies[0].evaluator = {
      evaluate() {
        throw new Error('boom');
      },
    };
    s.add([trace([okSpan(idOf(1))])]);
    clock.t = 1000;
    expect(s.tick()).to.have.length(1);
  });
});
