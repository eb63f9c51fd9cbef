import { expect } from 'chai';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { resolveConfig } from '../../core/config/schema';
import { StatusCode, type Span, type Trace } from '../../core/signals';
import { runOperatorItems } from '../../test/helpers/sink';
import { linking } from '../linking/processor';
import { espan, linkingConfig } from '../linking/testutil';
import { schema, type TailSamplingConfig } from './config';
import { tailSampling } from './processor';
import { idOf, span, telemetry, trace } from './testutil';

function config(over: Record<string, unknown>): TailSamplingConfig {
  const { config, problems } = resolveConfig<TailSamplingConfig>(schema, { policies: [{ name: 'all', type: 'always_sample' }], ...over });
  expect(problems).to.deep.equal([]);
  return config!;
}

describe('tail_sampling processor', () => {
  it('emits a trace decision_wait after its first span, on the scheduler', () => {
    const ts = new TestScheduler((a, b) => {
      expect(a).to.deep.equal(b);
    });
    ts.run(({ cold, expectObservable }) => {
      const a = trace([span({ traceId: idOf(1) })]);
      const a2 = trace([span({ traceId: idOf(1) })]);
      const b = trace([span({ traceId: idOf(2) })]);
      const input = cold<Trace[]>('a 999ms b 1999ms c 5s |', { a: [a], b: [a2, b], c: [] });
      const out = input.pipe(tailSampling(config({ decision_wait: '2s' }), telemetry(), ts));
      // trace 1 is decided at the tick at 2s with both its spans; trace 2 (first seen at 1s) at 3s
      expectObservable(out).toBe('2000ms x 999ms y 5s |', {
        x: [{ traceId: idOf(1), spans: [...a.spans, ...a2.spans] }],
        y: [{ traceId: idOf(2), spans: b.spans }],
      });
    });
  });

  it('flushes what it holds when the input completes', async () => {
    const items = await runOperatorItems(tailSampling(config({ decision_wait: '30s' }), telemetry()), [[trace([span({ traceId: idOf(7) })])]]);
    expect(items.map((t) => t.traceId)).to.deep.equal([idOf(7)]);
  });

  it('decision_wait 0 decides on arrival', () => {
    const ts = new TestScheduler((a, b) => {
      expect(a).to.deep.equal(b);
    });
    ts.run(({ cold, expectObservable }) => {
      const a = trace([span({ traceId: idOf(1) })]);
      const out = cold<Trace[]>('a|', { a: [a] }).pipe(tailSampling(config({ decision_wait: '0s' }), telemetry(), ts));
      expectObservable(out).toBe('a|', { a: [{ traceId: idOf(1), spans: a.spans }] });
    });
  });

  describe('after linking', () => {
    const ids = (traces: Trace[]) => traces.map((t) => t.spans.map((x) => x.spanId).join(','));
    const id = (c: string) => c.repeat(16);

    it('decides a whole trace when linking releases it, without decision_wait; its late span follows the decision', () => {
      const ts = new TestScheduler((a, b) => {
        expect(a).to.deep.equal(b);
      });
      ts.run(({ cold, expectObservable }) => {
        const server = espan({ kind: 'server', thread: 't', startMs: 0, durationMs: 100, spanId: id('a') });
        const call = espan({ kind: 'client', thread: 't', startMs: 10, durationMs: 10, spanId: id('b') });
        // a call of the same request reported after the trace left linking
        const lateCall = espan({ kind: 'client', thread: 't', startMs: 50, durationMs: 10, spanId: id('c') });
        const input = cold<Span[]>('a 3999ms b 9s |', { a: [server, call], b: [lateCall] });
        const out = input.pipe(
          linking(linkingConfig({ link_window: 1000, link_windows: 2, max_clock_skew: 100 }), undefined, ts),
          tailSampling(config({ decision_wait: '30s' }), telemetry(), ts),
          map(ids),
        );
        // linking holds the trace 2.1 s (its 1 s timer sees it at 3 s) and the sampler passes it on at once;
        // the late call joins linking's oldest open window at 4 s, leaves at 7 s and follows the trace's decision
        expectObservable(out).toBe('3s x 3999ms y 6s |', { x: [`${id('a')},${id('b')}`], y: [id('c')] });
      });
    });

    it('drops the late spans of a trace it did not sample', async () => {
      const tel = telemetry();
      const errors = config({ decision_wait: '30s', policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] });
      const ts = new TestScheduler((a, b) => {
        expect(a).to.deep.equal(b);
      });
      ts.run(({ cold, expectObservable }) => {
        const kept = espan({ kind: 'server', thread: 'k', startMs: 0, durationMs: 100, spanId: id('a') });
        kept.status = { code: StatusCode.ERROR };
        const dropped = espan({ kind: 'server', thread: 'd', startMs: 0, durationMs: 100, spanId: id('b') });
        const lateKept = espan({ kind: 'client', thread: 'k', startMs: 50, durationMs: 10, spanId: id('c') });
        const lateDropped = espan({ kind: 'client', thread: 'd', startMs: 50, durationMs: 10, spanId: id('d') });
        const input = cold<Span[]>('a 3999ms b 9s |', { a: [kept, dropped], b: [lateKept, lateDropped] });
        const out = input.pipe(linking(linkingConfig({ link_window: 1000, link_windows: 2, max_clock_skew: 100 }), undefined, ts), tailSampling(errors, tel, ts), map(ids));
        expectObservable(out).toBe('3s x 3999ms y 6s |', { x: [id('a')], y: [id('c')] });
      });
      expect(await tel.metrics.total('espan_tail_sampling_late_spans_total', { decision: 'not_sampled' })).to.equal(1);
      expect(await tel.metrics.total('espan_processor_dropped_items_total', { reason: 'not_sampled' })).to.equal(2);
    });
  });
});
