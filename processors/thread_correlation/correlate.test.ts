import { expect } from 'chai';
import fc from 'fast-check';
import { TestScheduler } from 'rxjs/testing';
import { runOperatorItems } from '../../test/helpers/sink';
import { clientCall, HOST, serverRequest } from '../../test/spans/messages';
import { ConnMeta } from '../../core/records/network-data';
import type { L7Message } from '../../core/signals';
import { correlateThreads, ThreadCorrelator, type CorrelateOptions } from './correlate';
import { ThreadTimelines } from './timeline';

const MS = 1e6;
const OPTS: CorrelateOptions = { waitMs: 1000, multiplexMemoryMs: 60_000, maxThreads: 1000, maxScopesPerThread: 100, maxPending: 10_000 };

function counting() {
  const calls: Record<string, number> = {};
  return { calls, counters: { call: (r: string, n: number) => (calls[r] = (calls[r] ?? 0) + n), evicted: () => {}, timelines: () => {} } };
}

describe('thread correlation', () => {
  it('links calls made inside the request their thread is serving', async () => {
    const s = serverRequest(10, 1 * MS, 50 * MS);
    const redis = clientCall(10, 5 * MS, 8 * MS);
    const mysql = clientCall(10, 10 * MS, 20 * MS, { protocol: 'mysql' });
    const other = clientCall(11, 10 * MS, 20 * MS);
    const { calls, counters } = counting();
    // calls complete (and arrive) before the request they belong to
    const out = await runOperatorItems(correlateThreads(OPTS, counters), [[redis, mysql, other], [s]]);
    expect(out).to.have.length(4);
    expect(s.threadTraceId).to.match(/^[0-9a-f]{32}$/);
    expect(redis.threadTraceId).to.equal(s.threadTraceId);
    expect(mysql.threadTraceId).to.equal(s.threadTraceId);
    expect(other.threadTraceId).to.equal(undefined);
    expect(calls).to.deep.equal({ linked: 2, no_scope: 1 });
  });

  it('separates consecutive requests on one thread', async () => {
    const a = serverRequest(10, 1 * MS, 10 * MS);
    const b = serverRequest(10, 12 * MS, 20 * MS);
    const ca = clientCall(10, 2 * MS, 3 * MS);
    const between = clientCall(10, 11 * MS, 11.5 * MS);
    const cb = clientCall(10, 15 * MS, 16 * MS);
    await runOperatorItems(correlateThreads(OPTS), [[ca, a, between, cb, b]]);
    expect(a.threadTraceId).to.not.equal(b.threadTraceId);
    expect(ca.threadTraceId).to.equal(a.threadTraceId);
    expect(cb.threadTraceId).to.equal(b.threadTraceId);
    expect(between.threadTraceId).to.equal(undefined);
  });

  it('never links on a thread serving several requests at once (event loop)', async () => {
    const a = serverRequest(1, 1 * MS, 30 * MS);
    const b = serverRequest(1, 5 * MS, 20 * MS);
    const c1 = clientCall(1, 2 * MS, 4 * MS); // only a is open, but the loop will interleave b's callbacks
    const c2 = clientCall(1, 6 * MS, 8 * MS);
    // later, a lone request on the same loop: still not linked within the multiplex memory
    const d = serverRequest(1, 100 * MS, 110 * MS);
    const c3 = clientCall(1, 102 * MS, 104 * MS);
    const { calls, counters } = counting();
    await runOperatorItems(correlateThreads(OPTS, counters), [[c1, c2], [b, a], [c3, d]]);
    for (const c of [c1, c2, c3]) expect(c.threadTraceId).to.equal(undefined);
    expect(calls).to.deep.equal({ ambiguous: 3 });
  });

  it('passes at once the calls nothing arriving later can link, and holds the others', () => {
    const corr = new ThreadCorrelator(OPTS);
    corr.add([serverRequest(1, 1 * MS, 30 * MS), serverRequest(1, 5 * MS, 20 * MS)], 0); // thread 1 is an event loop
    const onLoop = clientCall(1, 40 * MS, 41 * MS);
    const noTask = clientCall(0, 40 * MS, 41 * MS, { pid: 0, connMeta: ConnMeta.NO_TASK });
    const forwarding = clientCall(1, 42 * MS, 43 * MS, { protocol: 'http', http: { method: 'GET', target: '/', path: '/', version: '1.1', headers: { 'x-request-id': 'r' } } });
    const elsewhere = clientCall(2, 40 * MS, 41 * MS);
    expect(corr.add([onLoop, noTask, forwarding, elsewhere], 0)).to.deep.equal([onLoop, noTask]);
    expect(corr.pendingCount).to.equal(2);
    expect(new ThreadCorrelator({ ...OPTS, eventLoopTicks: true }).add([serverRequest(1, 1 * MS, 30 * MS), serverRequest(1, 5 * MS, 20 * MS), onLoop], 0)).to.have.length(2);
  });

  describe('event-loop ticks', () => {
    /** A tick tag of a libuv loop: wait generation `gen`, `reads` reads of the thread in the tick so far (15: the poll phase is over). */
    const tag = (gen: number, reads: number) => (gen << 5) | 16 | reads;
    /** A loop thread already seen serving two requests at once: the thread rule links nothing on it for the multiplex memory. */
    const busy = () => [serverRequest(1, 1 * MS, 30 * MS), serverRequest(1, 5 * MS, 20 * MS)];

    const TICKS = { ...OPTS, eventLoopTicks: true };

    it('links a call written after the only read of its tick to the one request open, and the next call after its response', async () => {
      const r = serverRequest(1, 100 * MS, 120 * MS, { reqTick: tag(7, 1) });
      const get = clientCall(1, 101 * MS, 105 * MS, { reqTick: tag(7, 1), respTick: tag(8, 1) });
      const set = clientCall(1, 106 * MS, 110 * MS, { reqTick: tag(8, 1), respTick: tag(9, 1) });
      const { calls, counters } = counting();
      await runOperatorItems(correlateThreads(TICKS, counters), [[...busy(), get, set, r]]);
      expect(get.threadTraceId).to.equal(r.threadTraceId);
      expect(set.threadTraceId).to.equal(r.threadTraceId);
      expect(calls).to.deep.equal({ linked_tick: 2 });
    });

    it('does not link when another request is open, another read came first in the tick, or the read ended another message too', async () => {
      const r = serverRequest(1, 100 * MS, 120 * MS, { reqTick: tag(7, 1) });
      const other = serverRequest(1, 102 * MS, 130 * MS, { reqTick: tag(9, 1) });
      const whileOtherOpen = clientCall(1, 103 * MS, 104 * MS, { reqTick: tag(9, 1) });
      const secondRead = clientCall(1, 101 * MS, 101.5 * MS, { reqTick: tag(7, 2) });
      const lone = serverRequest(1, 200 * MS, 220 * MS, { reqTick: tag(20, 1) });
      const mine = clientCall(1, 201 * MS, 205 * MS, { reqTick: tag(20, 1), respTick: tag(21, 1) });
      // a response of someone else's call ended in the same read (pipelined answers)
      const theirs = clientCall(1, 201.5 * MS, 205 * MS, { reqTick: tag(20, 2), respTick: tag(21, 1) });
      const afterShared = clientCall(1, 206 * MS, 208 * MS, { reqTick: tag(21, 1) });
      const untagged = clientCall(1, 210 * MS, 211 * MS);
      const { calls, counters } = counting();
      await runOperatorItems(correlateThreads(TICKS, counters), [[...busy(), secondRead, whileOtherOpen, r, other, mine, theirs, afterShared, untagged, lone]]);
      for (const c of [whileOtherOpen, secondRead, theirs, afterShared, untagged]) expect(c.threadTraceId).to.equal(undefined);
      expect(mine.threadTraceId).to.equal(lone.threadTraceId);
      expect(calls).to.deep.equal({ linked_tick: 1, ambiguous: 5 });
    });

    it('does not link a write made after the poll phase, nor on a loop whose poll phases are not seen', async () => {
      const r = serverRequest(1, 100 * MS, 120 * MS, { reqTick: tag(7, 1) });
      const tail = clientCall(1, 101 * MS, 105 * MS, { reqTick: tag(7, 15) }); // a timer's, say
      const s = serverRequest(1, 200 * MS, 220 * MS, { reqTick: tag(9, 1) & ~16 });
      const unseen = clientCall(1, 201 * MS, 205 * MS, { reqTick: tag(9, 1) & ~16 });
      await runOperatorItems(correlateThreads(TICKS), [[...busy(), tail, unseen, r, s]]);
      expect(tail.threadTraceId).to.equal(undefined);
      expect(unseen.threadTraceId).to.equal(undefined);
    });

    it('is off unless asked for', async () => {
      const r = serverRequest(1, 100 * MS, 120 * MS, { reqTick: tag(7, 1) });
      const get = clientCall(1, 101 * MS, 105 * MS, { reqTick: tag(7, 1) });
      await runOperatorItems(correlateThreads(OPTS), [[...busy(), get, r]]);
      expect(get.threadTraceId).to.equal(undefined);
    });
  });

  describe('forwarded ids', () => {
    const http = (headers: Record<string, string>) => ({ http: { method: 'GET', target: '/', path: '/', version: '1.1', headers } });
    const traceparent = (trace: number) => ({ traceparent: `00-${trace.toString(16).padStart(32, '0')}-00000000000000aa-01` });
    const call = (tid: number, start: number, end: number, headers: Record<string, string>) => clientCall(tid, start, end, { protocol: 'http', ...http(headers) });

    it('links an HTTP call carrying the trace id or x-request-id of the one request of its process open with it, from any thread', async () => {
      const a = serverRequest(1, 1 * MS, 50 * MS, http(traceparent(7)));
      const b = serverRequest(1, 2 * MS, 40 * MS, http({ 'x-request-id': 'req-b' }));
      const fromA = call(1, 10 * MS, 12 * MS, traceparent(7));
      const fromB = call(5, 20 * MS, 22 * MS, { 'x-request-id': 'req-b' }); // a worker thread, handed the work
      const { calls, counters } = counting();
      await runOperatorItems(correlateThreads(OPTS, counters), [[fromA, fromB, a, b]]);
      expect(fromA.threadTraceId).to.equal(a.threadTraceId);
      expect(fromB.threadTraceId).to.equal(b.threadTraceId);
      expect(calls).to.deep.equal({ linked_forwarded: 2 });
    });

    it('does not link when several requests carried the id, outside the request, or when told not to', async () => {
      const a = serverRequest(1, 1 * MS, 50 * MS, http(traceparent(7)));
      const retry = serverRequest(1, 2 * MS, 40 * MS, http(traceparent(7)));
      const twice = call(1, 10 * MS, 12 * MS, traceparent(7));
      const c = serverRequest(2, 100 * MS, 150 * MS, http(traceparent(8)));
      const after = call(3, 160 * MS, 162 * MS, traceparent(8));
      const d = serverRequest(2, 200 * MS, 250 * MS, http(traceparent(9)));
      const off = call(3, 210 * MS, 212 * MS, traceparent(9));
      await runOperatorItems(correlateThreads(OPTS), [[twice, after, a, retry, c]]);
      await runOperatorItems(correlateThreads({ ...OPTS, forwardedIds: false }), [[off, d]]);
      for (const x of [twice, after, off]) expect(x.threadTraceId).to.equal(undefined);
    });
  });

  it('does not link under a request answered by another thread or never answered', async () => {
    const handedOver = serverRequest(10, 1 * MS, 50 * MS, { respTid: 11 });
    const c = clientCall(10, 5 * MS, 6 * MS);
    const unanswered = serverRequest(20, 1 * MS, 0, { respStart: undefined, respEnd: undefined, reqEnd: 2 * MS, outcome: 'no_response' });
    const c2 = clientCall(20, 1.5 * MS, 3 * MS);
    const c3 = clientCall(20, 10 * MS, 11 * MS);
    await runOperatorItems(correlateThreads(OPTS), [[c, handedOver, c2, c3, unanswered]]);
    expect(c.threadTraceId).to.equal(undefined);
    expect(c2.threadTraceId).to.equal(undefined);
    expect(c3.threadTraceId).to.equal(undefined);
    expect(unanswered.threadTraceId).to.match(/^[0-9a-f]{32}$/);
  });

  it('links a Go goroutine\'s calls by goroutine, whatever threads it ran on', async () => {
    // goroutine 7 read the request on thread 10, made calls on threads 11 and 12, answered on 13
    const s = serverRequest(10, 1 * MS, 50 * MS, { utid: 7, respTid: 13, respUtid: 7 });
    const c1 = clientCall(11, 5 * MS, 8 * MS, { utid: 7 });
    const c2 = clientCall(12, 10 * MS, 20 * MS, { utid: 7 });
    // thread 10 meanwhile ran goroutine 8, and a call of goroutine 8 is not under goroutine 7's request
    const other = clientCall(10, 10 * MS, 20 * MS, { utid: 8 });
    // nor is a call of thread 10 whose goroutine is not known
    const bare = clientCall(10, 10 * MS, 20 * MS);
    const { calls, counters } = counting();
    await runOperatorItems(correlateThreads(OPTS, counters), [[c1, c2, other, bare], [s]]);
    expect(c1.threadTraceId).to.equal(s.threadTraceId);
    expect(c2.threadTraceId).to.equal(s.threadTraceId);
    expect(other.threadTraceId).to.equal(undefined);
    expect(bare.threadTraceId).to.equal(undefined);
    expect(calls).to.deep.equal({ linked: 2, no_scope: 2 });
  });

  it('does not link under a Go request answered by another goroutine', async () => {
    const s = serverRequest(10, 1 * MS, 50 * MS, { utid: 7, respTid: 10, respUtid: 9 });
    const c = clientCall(10, 5 * MS, 8 * MS, { utid: 7 });
    await runOperatorItems(correlateThreads(OPTS), [[c, s]]);
    expect(c.threadTraceId).to.equal(undefined);
  });

  it('leaves pcap-origin (no task) calls alone', async () => {
    const s = serverRequest(0, 1 * MS, 10 * MS, { pid: 0, connMeta: ConnMeta.NO_TASK });
    const c = clientCall(0, 2 * MS, 3 * MS, { pid: 0, connMeta: ConnMeta.NO_TASK });
    const { calls, counters } = counting();
    await runOperatorItems(correlateThreads(OPTS, counters), [[s, c]]);
    expect(s.threadTraceId).to.equal(undefined);
    expect(c.threadTraceId).to.equal(undefined);
    expect(calls).to.deep.equal({ no_task: 1 });
  });

  it('keeps hosts and processes apart', async () => {
    const s = serverRequest(10, 1 * MS, 10 * MS);
    const otherPid = clientCall(10, 2 * MS, 3 * MS, { pid: 101 });
    const otherHost = clientCall(10, 2 * MS, 3 * MS, { host: { ...HOST, hostId: 'host-b' } });
    await runOperatorItems(correlateThreads(OPTS), [[s, otherPid, otherHost]]);
    expect(otherPid.threadTraceId).to.equal(undefined);
    expect(otherHost.threadTraceId).to.equal(undefined);
  });

  it('holds calls until the data clock passes the wait, and releases them on wall time when traffic stops', () => {
    const ts = new TestScheduler((a, b) => {
      expect(a).to.deep.equal(b);
    });
    ts.run(({ cold, expectObservable }) => {
      const c = clientCall(10, 1 * MS, 2 * MS);
      const s = serverRequest(10, 0, 5 * MS);
      const late = serverRequest(12, 2000 * MS, 2001 * MS); // moves the data clock 2 s on
      const c2 = clientCall(10, 3000 * MS, 3001 * MS);
      const input = cold<L7Message[]>('a 9ms b 9ms c 9ms d 4s |', { a: [c], b: [s], c: [late], d: [c2] });
      // c goes with the batch that moves the data clock past its start + wait; c2 waits for wall time
      // (ticks every 250 ms, so released on the first tick at or after 1 s from its arrival).
      expectObservable(input.pipe(correlateThreads(OPTS, undefined, ts))).toBe('10ms b 9ms c 1229ms d 2780ms |', {
        b: [s],
        c: [late, c],
        d: [c2],
      });
    });
  });

  it('decides the oldest calls at once beyond max_pending', () => {
    const corr = new ThreadCorrelator({ ...OPTS, maxPending: 2 });
    const calls = [1, 2, 3, 4].map((i) => clientCall(10, i * MS, i * MS + 1));
    const out = corr.add(calls, 0);
    expect(out).to.deep.equal(calls.slice(0, 2));
    expect(corr.pendingCount).to.equal(2);
  });

  it('forgets old scopes and idle threads, and stays within max_threads', () => {
    const t = new ThreadTimelines({ multiplexMemoryNs: 0, maxThreads: 3, maxScopesPerThread: 2, eventLoopTicks: false, forwardedIds: true });
    for (let tid = 1; tid <= 5; tid++) t.addServer(serverRequest(tid, tid * MS, tid * MS + 100));
    expect(t.stats().threads).to.equal(3);
    for (let i = 0; i < 4; i++) t.addServer(serverRequest(5, (10 + i) * MS, (10 + i) * MS + 100));
    expect(t.stats().scopes).to.equal(4); // threads 3, 4 one each; thread 5 capped at 2
    t.prune(HOST.hostId, 1000 * MS);
    expect(t.stats()).to.include({ threads: 0, scopes: 0 });
  });

  it('never gives a wrong parent over random mixes of thread-per-request and event-loop threads', async () => {
    // Each thread is either sequential (requests one after another) or an event loop
    // (requests overlap); calls are generated inside their true request.
    const threadArb = fc.record({
      eventLoop: fc.boolean(),
      requests: fc.array(fc.record({ gap: fc.integer({ min: 0, max: 50 }), length: fc.integer({ min: 2, max: 100 }), calls: fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 4 }) }), { minLength: 1, maxLength: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(threadArb, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 20 }), async (threads, batchSize) => {
        const all: L7Message[] = [];
        const truth = new Map<L7Message, L7Message>();
        threads.forEach((th, i) => {
          const tid = 100 + i;
          let t = 1;
          for (const r of th.requests) {
            const start = t + r.gap;
            const s = serverRequest(tid, start * MS, (start + r.length) * MS);
            all.push(s);
            for (const off of r.calls) {
              const at = start + 1 + (off % (r.length - 1));
              const c = clientCall(tid, at * MS, at * MS + 1000);
              truth.set(c, s);
              all.push(c);
            }
            // an event loop reads the next request before answering this one
            t = th.eventLoop ? start + 1 : start + r.length + 1;
          }
        });
        // the parser emits in completion order
        all.sort((a, b) => (a.respEnd ?? a.reqEnd) - (b.respEnd ?? b.reqEnd));
        const batches: L7Message[][] = [];
        for (let i = 0; i < all.length; i += batchSize) batches.push(all.slice(i, i + batchSize));
        await runOperatorItems(correlateThreads(OPTS), batches);
        for (const [c, s] of truth) {
          if (c.threadTraceId !== undefined) expect(c.threadTraceId).to.equal(s.threadTraceId);
        }
        // sequential threads link every call
        threads.forEach((th, i) => {
          if (th.eventLoop) return;
          for (const [c] of truth) if (c.tid === 100 + i) expect(c.threadTraceId).to.not.equal(undefined);
        });
      }),
      { numRuns: 200 },
    );
  });
});
