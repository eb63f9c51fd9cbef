import { expect } from 'chai';
import { componentTelemetry, ServiceMetrics } from '../../core/telemetry/metrics';
import type { Span, Trace } from '../../core/signals';
import { Linker, type KeyHash } from './linker';
import { espan, linkingConfig } from './testutil';
import type { LinkingConfig } from './config';

const T0 = 1_700_000_000_000; // ms, on a window boundary

function linker(over: Partial<LinkingConfig> = {}, hash?: KeyHash) {
  const clock = { t: 0 };
  const metrics = new ServiceMetrics();
  const l = new Linker(linkingConfig(over), () => clock.t, componentTelemetry(metrics, 'processor', 'linking'), hash);
  return { l, clock, metrics };
}

/** Every key hashes alike: only whole keys tell them apart. */
const collide: KeyHash = () => 7;

const only = (traces: Trace[]): Trace => {
  expect(traces).to.have.length(1);
  return traces[0];
};

describe('linking', () => {
  describe('network rule', () => {
    it('makes the client span the parent of the server span sharing conn key and request seq', () => {
      const { l } = linker();
      const client = espan({ kind: 'client', host: 'a', conn: '10.0.0.1:5000-10.0.0.2:80', seq: 1000, startMs: T0 + 10, durationMs: 20 });
      const server = espan({ kind: 'server', host: 'b', conn: '10.0.0.1:5000-10.0.0.2:80', seq: 1000, startMs: T0 + 12, durationMs: 15 });
      l.add([server]);
      l.add([client]);
      const t = only(l.flush());
      expect(t.spans).to.have.members([client, server]);
      expect(server.parentSpanId).to.equal(client.spanId);
      expect(client.parentSpanId).to.equal(undefined);
      expect(client.traceId).to.equal(t.traceId).and.to.equal(server.traceId).and.to.match(/^[0-9a-f]{32}$/);
    });

    it('tolerates clock skew between hosts up to max_clock_skew, not beyond', () => {
      const { l } = linker({ max_clock_skew: 100 });
      // server host clock 80 ms behind: its span starts "before" the client's
      const c1 = espan({ kind: 'client', conn: 'k1', seq: 1, startMs: T0 + 200, durationMs: 10 });
      const s1 = espan({ kind: 'server', host: 'b', conn: 'k1', seq: 1, startMs: T0 + 120, durationMs: 5 });
      // 300 ms off: a different request that reused the seq, not this one
      const c2 = espan({ kind: 'client', conn: 'k2', seq: 1, startMs: T0 + 200, durationMs: 10 });
      const s2 = espan({ kind: 'server', host: 'b', conn: 'k2', seq: 1, startMs: T0 + 510, durationMs: 5 });
      l.add([c1, s1, c2, s2]);
      const traces = l.flush();
      expect(traces).to.have.length(3);
      expect(s1.parentSpanId).to.equal(c1.spanId);
      expect(s2.parentSpanId).to.equal(undefined);
    });

    it('joins a bigint seq (as decoders give large integers) to the number of the same value', () => {
      const { l } = linker();
      const client = espan({ kind: 'client', conn: 'k', seq: 4_000_000_001, startMs: T0, durationMs: 10 });
      const server = espan({ kind: 'server', conn: 'k', startMs: T0 + 1, durationMs: 5 });
      server.attributes['espan.req_seq'] = 4_000_000_001n;
      l.add([client, server]);
      expect(only(l.flush()).spans).to.have.members([client, server]);
      expect(server.parentSpanId).to.equal(client.spanId);
    });

    it('keeps apart keys whose hashes collide', () => {
      const [k1, k2] = ['10.0.0.1:5000-10.0.0.9:80', '10.0.0.2:5000-10.0.0.9:80'];
      const { l } = linker({ max_recent_links: 10 }, collide);
      const c1 = espan({ kind: 'client', conn: k1, seq: 7, startMs: T0, durationMs: 10 });
      const s2 = espan({ kind: 'server', conn: k2, seq: 7, startMs: T0 + 1, durationMs: 5 });
      const s1 = espan({ kind: 'server', conn: k1, seq: 7, startMs: T0 + 2, durationMs: 5 });
      l.add([c1, s2, s1]);
      const traces = l.flush();
      expect(traces).to.have.length(2);
      expect(s1.parentSpanId).to.equal(c1.spanId);
      expect(s2.parentSpanId).to.equal(undefined);
      // and among emitted traces: a late server of k2 does not take k1's client as parent
      const late2 = espan({ kind: 'server', conn: k2, seq: 7, startMs: T0 + 3, durationMs: 5 });
      l.add([late2]);
      l.flush();
      expect(late2.parentSpanId).to.equal(undefined);
      expect(late2.traceId).to.equal(s2.traceId);
    });

    it('does not join two spans of the same kind or different seqs', () => {
      const { l } = linker();
      l.add([
        espan({ kind: 'client', conn: 'k', seq: 1, startMs: T0, durationMs: 5 }),
        espan({ kind: 'client', conn: 'k', seq: 1, startMs: T0, durationMs: 5 }),
        espan({ kind: 'server', conn: 'k', seq: 2, startMs: T0, durationMs: 5 }),
      ]);
      expect(l.flush()).to.have.length(3);
    });
  });

  describe('in-process rule', () => {
    it('makes the server span the parent of the client calls its thread made while serving it', () => {
      const { l } = linker();
      const server = espan({ kind: 'server', thread: 'th1', startMs: T0, durationMs: 100 });
      const redis = espan({ kind: 'client', thread: 'th1', startMs: T0 + 10, durationMs: 2 });
      const mysql = espan({ kind: 'client', thread: 'th1', startMs: T0 + 20, durationMs: 30 });
      const after = espan({ kind: 'client', thread: 'th1', startMs: T0 + 150, durationMs: 1 });
      l.add([redis, server, mysql, after]);
      const traces = l.flush();
      expect(traces).to.have.length(2);
      expect(redis.parentSpanId).to.equal(server.spanId);
      expect(mysql.parentSpanId).to.equal(server.spanId);
      expect(after.parentSpanId, 'outside the covering time range').to.equal(undefined);
      expect(redis.traceId).to.equal(server.traceId);
    });

    it('keeps apart thread ids and trace ids whose hashes collide', () => {
      const [a, b] = ['thread-a', 'thread-b'];
      const { l } = linker({}, collide);
      const server = espan({ kind: 'server', thread: a, startMs: T0, durationMs: 100 });
      const other = espan({ kind: 'client', thread: b, startMs: T0 + 10, durationMs: 2 });
      const call = espan({ kind: 'client', thread: a, startMs: T0 + 20, durationMs: 2 });
      const p1 = espan({ kind: 'server', traceId: a, startMs: T0, durationMs: 1 });
      const p2 = espan({ kind: 'server', traceId: b, startMs: T0, durationMs: 1 });
      const p3 = espan({ kind: 'server', traceId: b, startMs: T0 + 1, durationMs: 1 });
      l.add([server, other, call, p1, p2, p3]);
      const traces = l.flush();
      expect(traces.map((t) => t.spans.length).sort()).to.deep.equal([1, 1, 2, 2]);
      expect(call.parentSpanId).to.equal(server.spanId);
      expect(other.parentSpanId).to.equal(undefined);
      expect(traces.find((t) => t.spans.includes(p3))!.spans).to.have.members([p2, p3]);
      // and among emitted traces: a late call of thread b does not take a's server as parent
      const late = espan({ kind: 'client', thread: b, startMs: T0 + 30, durationMs: 2 });
      l.add([late]);
      l.flush();
      expect(late.parentSpanId).to.equal(undefined);
      expect(late.traceId).to.equal(other.traceId);
    });

    it('needs a server span to cover the calls: two client spans of one thread id stay apart', () => {
      const { l } = linker();
      l.add([espan({ kind: 'client', thread: 'th1', startMs: T0, durationMs: 100 }), espan({ kind: 'client', thread: 'th1', startMs: T0 + 10, durationMs: 2 })]);
      expect(l.flush()).to.have.length(2);
    });

    it('chains across hosts: client → server → its calls → their servers', () => {
      const { l } = linker();
      const browser = espan({ kind: 'client', host: 'a', conn: 'ab', seq: 7, startMs: T0, durationMs: 100 });
      const front = espan({ kind: 'server', host: 'b', conn: 'ab', seq: 7, startMs: T0 + 1, durationMs: 98, thread: 'f1' });
      const call = espan({ kind: 'client', host: 'b', conn: 'bc', seq: 99, startMs: T0 + 10, durationMs: 50, thread: 'f1' });
      const back = espan({ kind: 'server', host: 'c', conn: 'bc', seq: 99, startMs: T0 + 11, durationMs: 40 });
      l.add([back]);
      l.add([call, browser]);
      l.add([front]);
      const t = only(l.flush());
      expect(t.spans).to.have.length(4);
      expect(front.parentSpanId).to.equal(browser.spanId);
      expect(call.parentSpanId).to.equal(front.spanId);
      expect(back.parentSpanId).to.equal(call.spanId);
      expect(new Set(t.spans.map((s) => s.traceId)).size).to.equal(1);
    });
  });

  describe('propagated ids', () => {
    it('a propagated trace id wins and eBPF spans join the application trace (SDK spans included)', () => {
      const { l } = linker();
      const appTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const sdkClient = espan({ kind: 'client', traceId: appTrace, spanId: '00f067aa0ba902b7', startMs: T0, durationMs: 50 });
      delete sdkClient.attributes['espan.captured'];
      const server = espan({ kind: 'server', host: 'b', conn: 'ab', seq: 1, startMs: T0 + 2, durationMs: 40, thread: 't', traceId: appTrace, parentSpanId: '00f067aa0ba902b7', propagation: 'w3c' });
      const ebpfClient = espan({ kind: 'client', host: 'a', conn: 'ab', seq: 1, startMs: T0 + 1, durationMs: 45 });
      const db = espan({ kind: 'client', host: 'b', thread: 't', startMs: T0 + 5, durationMs: 5 });
      l.add([sdkClient, server, ebpfClient, db]);
      const t = only(l.flush());
      expect(t.traceId).to.equal(appTrace);
      expect(t.spans).to.have.length(4);
      expect(server.parentSpanId, 'parent from the headers stays').to.equal('00f067aa0ba902b7');
      expect(db.parentSpanId).to.equal(server.spanId);
      expect(db.traceId).to.equal(appTrace);
      expect(ebpfClient.traceId).to.equal(appTrace);
    });

    it('spans with the same propagated trace id are one trace even without other keys', () => {
      const { l } = linker();
      const id = '0123456789abcdef0123456789abcdef';
      l.add([espan({ kind: 'server', traceId: id, startMs: T0, durationMs: 1 }), espan({ kind: 'server', host: 'z', traceId: id, startMs: T0 + 500, durationMs: 1 })]);
      expect(only(l.flush()).spans).to.have.length(2);
    });
  });

  describe('trace ids', () => {
    it('derives the id from the root span, the same on every run', () => {
      const make = () => {
        const { l } = linker();
        const c = espan({ kind: 'client', conn: 'k', seq: 5, startMs: T0, durationMs: 10, spanId: '1111111111111111' });
        const s = espan({ kind: 'server', conn: 'k', seq: 5, startMs: T0 + 1, durationMs: 5, spanId: '2222222222222222' });
        l.add([s, c]);
        return only(l.flush()).traceId;
      };
      const a = make();
      expect(a).to.equal(make());
      expect(a).to.match(/^[0-9a-f]{32}$/).and.not.to.equal('0'.repeat(32));
    });

    it('different roots give different ids', () => {
      const { l } = linker();
      const spans: Span[] = [];
      for (let i = 0; i < 1000; i++) spans.push(espan({ kind: 'server', startMs: T0 + i, durationMs: 1 }));
      l.add(spans);
      expect(new Set(l.flush().map((t) => t.traceId)).size).to.equal(1000);
    });
  });

  describe('windows', () => {
    it('buckets by span time: a span arriving late but timed in an open window still joins', () => {
      const { l } = linker({ link_window: 1000, link_windows: 2, max_clock_skew: 0 });
      const c = espan({ kind: 'client', conn: 'k', seq: 1, startMs: T0 + 100, durationMs: 10 });
      expect(l.add([c])).to.deep.equal([]);
      // span time moves on by 1.5 windows: the first window is not due yet (2 windows)
      expect(l.add([espan({ kind: 'server', startMs: T0 + 1500, durationMs: 1 })])).to.deep.equal([]);
      const s = espan({ kind: 'server', conn: 'k', seq: 1, startMs: T0 + 101, durationMs: 5 });
      expect(l.add([s])).to.deep.equal([]);
      // span time reaches 3 s: the window [T0, T0+1s) has been held for 2 windows and closes
      const out = l.add([espan({ kind: 'server', startMs: T0 + 3000, durationMs: 1 })]);
      expect(out).to.have.length(1);
      expect(out[0].spans).to.have.members([c, s]);
    });

    it('closes by wall time when span time stands still (idle stream, replay)', () => {
      const { l, clock } = linker({ link_window: 1000, link_windows: 2, max_clock_skew: 100 });
      l.add([espan({ kind: 'server', startMs: T0, durationMs: 1 })]);
      clock.t = 2000;
      expect(l.tick()).to.deep.equal([]);
      clock.t = 2100;
      expect(l.tick()).to.have.length(1);
      expect(l.size).to.equal(0);
    });

    it('a group spanning windows is emitted when its newest window closes', () => {
      const { l } = linker({ link_window: 1000, link_windows: 1, max_clock_skew: 0 });
      const server = espan({ kind: 'server', thread: 't', startMs: T0 + 900, durationMs: 400 });
      const call = espan({ kind: 'client', thread: 't', startMs: T0 + 1100, durationMs: 100 });
      l.add([server, call]);
      // window 0 is due, but the group also lives in window 1
      expect(l.add([espan({ kind: 'server', startMs: T0 + 2000, durationMs: 1 })])).to.deep.equal([]);
      const out = l.add([espan({ kind: 'server', startMs: T0 + 3000, durationMs: 1 })]);
      expect(out.find((t) => t.spans.includes(server))!.spans).to.have.members([server, call]);
    });

    it('late spans of an emitted trace keep its trace id and find their parent', async () => {
      const { l, metrics } = linker({ link_window: 1000, link_windows: 1, max_clock_skew: 50 });
      const server = espan({ kind: 'server', host: 'b', conn: 'ab', seq: 9, thread: 't', startMs: T0 + 10, durationMs: 100 });
      const filler = espan({ kind: 'server', startMs: T0 + 5000, durationMs: 1 });
      const first = only(l.add([server, filler]).filter((t) => t.spans.includes(server)));
      // the caller's span and a call made while serving arrive after the trace left
      const lateClient = espan({ kind: 'client', host: 'a', conn: 'ab', seq: 9, startMs: T0 + 5, durationMs: 110 });
      const lateCall = espan({ kind: 'client', host: 'b', thread: 't', startMs: T0 + 20, durationMs: 10 });
      // their windows are long due by span time: out at once
      const out = l.add([lateClient, lateCall]);
      expect(l.flush().flatMap((t) => t.spans)).to.deep.equal([filler]);
      expect(out.flatMap((t) => t.spans)).to.have.members([lateClient, lateCall]);
      for (const t of out) expect(t.traceId).to.equal(first.traceId);
      expect(lateCall.parentSpanId).to.equal(server.spanId);
      expect(await metrics.total('espan_linking_late_spans_total')).to.equal(2);
    });

    it('a late span bridging two emitted traces takes the trace of its parent', () => {
      const { l } = linker({ link_window: 1000, link_windows: 1, max_clock_skew: 50 });
      const front = espan({ kind: 'server', host: 'a', thread: 'f', startMs: T0, durationMs: 100, traceId: 'f'.repeat(32), propagation: 'w3c' });
      const api = espan({ kind: 'server', host: 'b', conn: 'ab', seq: 4, startMs: T0 + 11, durationMs: 40 });
      const emitted = l.add([front, api, espan({ kind: 'server', startMs: T0 + 5000, durationMs: 1 })]);
      expect(emitted.filter((t) => t.spans.includes(front) || t.spans.includes(api))).to.have.length(2);
      // the call front made to api: its network partner (api) and its thread parent (front) both left
      const call = espan({ kind: 'client', host: 'a', thread: 'f', conn: 'ab', seq: 4, startMs: T0 + 10, durationMs: 50 });
      l.add([call]);
      l.flush();
      expect(call.parentSpanId).to.equal(front.spanId);
      expect(call.traceId).to.equal(front.traceId);
    });

    it('a late server span whose client left finds the client as parent', () => {
      const { l } = linker({ link_window: 1000, link_windows: 1, max_clock_skew: 50 });
      const client = espan({ kind: 'client', conn: 'ab', seq: 3, startMs: T0, durationMs: 50 });
      const [t] = l.add([client, espan({ kind: 'server', startMs: T0 + 5000, durationMs: 1 })]).filter((x) => x.spans.includes(client));
      const server = espan({ kind: 'server', host: 'b', conn: 'ab', seq: 3, startMs: T0 + 2, durationMs: 40 });
      l.add([server]);
      l.flush();
      expect(server.parentSpanId).to.equal(client.spanId);
      expect(server.traceId).to.equal(t.traceId);
    });

    it('max_spans bounds memory: the oldest spans are emitted early, down to max_spans, and counted', async () => {
      const { l, metrics } = linker({ max_spans: 10, link_window: 1000 });
      const spans: Span[] = [];
      for (let w = 0; w < 3; w++) for (let i = 0; i < 6; i++) spans.push(espan({ kind: 'server', startMs: T0 + w * 1000 + i, durationMs: 1 }));
      const out = l.add(spans);
      expect(l.size).to.equal(10);
      // window 0 whole, then window 1's two oldest: not all of window 1 at once
      expect(out.flatMap((t) => t.spans)).to.deep.equal(spans.slice(0, 8));
      expect(await metrics.total('espan_linking_spans_evicted_early_total')).to.equal(8);
      expect(l.flush().flatMap((t) => t.spans)).to.have.members(spans.slice(8));
    });

    it('a group spanning windows frees its slots as it leaves: they serve later spans', () => {
      const { l } = linker({ link_window: 1000, link_windows: 1, max_clock_skew: 0 });
      const emitted: Span[] = [];
      for (let w = 0; w < 200; w += 2) {
        // a server in window w and its call in w + 1, closed (w) while its group still grows, then left (w + 1)
        const server = espan({ kind: 'server', thread: `t${w}`, startMs: T0 + w * 1000 + 900, durationMs: 400 });
        const call = espan({ kind: 'client', thread: `t${w}`, startMs: T0 + w * 1000 + 1100, durationMs: 100 });
        for (const t of l.add([server, call])) emitted.push(...t.spans);
      }
      for (const t of l.flush()) emitted.push(...t.spans);
      expect(emitted).to.have.length(200);
      // slots made so far: a few, reused, not one per span
      expect((l as unknown as { slots: { fresh: number } }).slots.fresh).to.be.below(8);
    });

    it('spans evicted early from a window still open leave once, and their slots serve later spans', () => {
      const { l } = linker({ max_spans: 4, link_window: 1000, link_windows: 1, max_clock_skew: 0 });
      // a group across windows 0 and 1, evicted with window 0 while window 1 stays open
      const server = espan({ kind: 'server', thread: 't', startMs: T0 + 900, durationMs: 400 });
      const call = espan({ kind: 'client', thread: 't', startMs: T0 + 1100, durationMs: 100 });
      const others = [0, 1, 2].map((i) => espan({ kind: 'server', startMs: T0 + 1200 + i, durationMs: 1 }));
      const first = l.add([server, call, ...others]);
      expect(first.flatMap((t) => t.spans)).to.have.members([server, call]);
      // a pair in window 2 pushes window 1's oldest span out early (the call's slot, gone with its group, is passed)
      const c = espan({ kind: 'client', conn: 'x', seq: 1, startMs: T0 + 2300, durationMs: 10 });
      const s = espan({ kind: 'server', conn: 'x', seq: 1, startMs: T0 + 2301, durationMs: 5 });
      const second = l.add([c, s]);
      expect(second.flatMap((t) => t.spans)).to.deep.equal([others[0]]);
      expect(l.size).to.equal(4);
      expect(l.flush().flatMap((t) => t.spans)).to.have.members([others[1], others[2], c, s]);
      expect(s.parentSpanId).to.equal(c.spanId);
    });

    it('marks the traces it releases as whole, evicted early too, but not those flushed at shutdown', () => {
      const { l } = linker({ max_spans: 3, link_window: 1000, link_windows: 1, max_clock_skew: 0 });
      const early = [0, 1, 2].map((i) => espan({ kind: 'server', startMs: T0 + i, durationMs: 1 }));
      expect(l.add(early)).to.deep.equal([]);
      // a fourth span is one too many: window 0's oldest leaves before it is due
      const evicted = l.add([espan({ kind: 'server', startMs: T0 + 1500, durationMs: 1 })]);
      expect(evicted.map((t) => t.spans[0])).to.deep.equal([early[0]]);
      expect(evicted.map((t) => t.whole)).to.deep.equal([true]);
      // span time reaches window 3: windows 0 (its other two) and 1 have been held their one window and close
      const due = l.add([espan({ kind: 'server', startMs: T0 + 3000, durationMs: 1 })]);
      expect(due.map((t) => t.whole)).to.deep.equal([true, true, true]);
      expect(l.flush().map((t) => t.whole)).to.deep.equal([false]);
    });

    it('remembers the network key of a span that left without its partner, not of a pair that left together', () => {
      const { l } = linker({ link_window: 1000, link_windows: 1, max_clock_skew: 50 });
      const recent = l as unknown as { recentNet: { size: number } };
      l.add([espan({ kind: 'client', conn: 'ab', seq: 1, startMs: T0, durationMs: 50 }), espan({ kind: 'server', conn: 'ab', seq: 1, startMs: T0 + 2, durationMs: 40 })]);
      l.flush();
      expect(recent.recentNet.size).to.equal(0);
      l.add([espan({ kind: 'client', conn: 'ab', seq: 2, startMs: T0 + 5000, durationMs: 50 })]);
      l.flush();
      expect(recent.recentNet.size).to.equal(1);
    });

    it('the map of recent links is bounded', () => {
      const { l } = linker({ max_recent_links: 5, link_window: 1000, link_windows: 1 });
      for (let i = 0; i < 50; i++) l.add([espan({ kind: 'client', conn: `c${i}`, seq: i, thread: `t${i}`, startMs: T0 + i * 2000, durationMs: 1 })]);
      l.flush();
      const recent = l as unknown as { recentNet: { size: number }; recentThread: { size: number } };
      expect(recent.recentNet.size).to.be.within(3, 5);
      expect(recent.recentThread.size).to.be.within(3, 5);
    });
  });
});
