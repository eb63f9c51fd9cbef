import { expect } from 'chai';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Span, Trace } from '../../core/signals';
import { resolveConfig } from '../../core/config/schema';
import { runOperatorItems } from '../../test/helpers/sink';
import { schema, validate, type LinkingConfig } from './config';
import { linking } from './processor';
import { espan, linkingConfig } from './testutil';

describe('linking processor', () => {
  it('has the documented defaults and refuses a zero window', () => {
    const { config, problems } = resolveConfig<LinkingConfig>(schema, {});
    expect(problems).to.deep.equal([]);
    expect(config).to.deep.equal({ link_window: 2000, link_windows: 3, max_clock_skew: 500, max_spans: 200000, max_recent_links: 100000 });
    expect(validate({ ...config!, link_window: 0 }).map((p) => p.path)).to.deep.equal(['link_window']);
  });

  it('closes windows on the scheduler when no more spans come', () => {
    const ts = new TestScheduler((a, b) => {
      expect(a).to.deep.equal(b);
    });
    ts.run(({ cold, expectObservable }) => {
      // span times near the scheduler's zero: an idle stream closes by wall time after 2 windows + skew
      const c = espan({ kind: 'client', conn: 'k', seq: 1, startMs: 0, durationMs: 10, spanId: 'c'.repeat(16) });
      const s = espan({ kind: 'server', conn: 'k', seq: 1, startMs: 1, durationMs: 5, spanId: 'd'.repeat(16) });
      const input = cold<Span[]>('a 9s |', { a: [c, s] });
      const out = input.pipe(
        linking(linkingConfig({ link_window: 1000, link_windows: 2, max_clock_skew: 100 }), undefined, ts),
        map((traces: Trace[]) => traces.map((t) => t.spans.map((x) => `${x.spanId}<${x.parentSpanId ?? ''}`))),
      );
      // held 2.1 s of wall time; the 1 s timer sees it due at 3 s
      expectObservable(out).toBe('3s x 6s |', { x: [[`${'c'.repeat(16)}<`, `${'d'.repeat(16)}<${'c'.repeat(16)}`]] });
    });
  });

  it('emits everything it holds when the input completes', async () => {
    const spans = [espan({ kind: 'server', startMs: Date.now(), durationMs: 1 }), espan({ kind: 'server', startMs: Date.now(), durationMs: 1 })];
    const traces = await runOperatorItems(linking(linkingConfig({ link_window: 60_000 })), [spans]);
    expect(traces.flatMap((t) => t.spans)).to.have.length(2);
  });
});
