import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { resolveConfig } from '../../core/config/schema';
import type { Trace } from '../../core/signals';
import { runOperatorItems } from '../../test/helpers/sink';
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
});
