import { expect } from 'chai';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import type { ComponentContext } from '../../core/component';
import { initialBackoff, nextWait } from './backoff';
import type { QueueSettings, RetrySettings } from './config';
import { grpcRetryable, httpRetryable, parseRetryAfter } from './retryable';
import { QueuedSender, type SenderOptions } from './sender';
import type { OtlpSignal, SendOutcome, Transport } from './transport';
import { testContext } from '../../test/helpers/context';

const RETRY: RetrySettings = { enabled: true, initial_interval: 5, randomization_factor: 0, multiplier: 2, max_interval: 20, max_elapsed_time: 200 };
const QUEUE: QueueSettings = { enabled: true, queue_size: 3, num_consumers: 1, block_on_overflow: false };

function context(): ComponentContext & { metrics: ServiceMetrics } {
  const metrics = new ServiceMetrics();
  return { ...testContext('exporter', 'otlp', metrics), metrics };
}

/** A transport whose answers the test scripts, one function per attempt; no answer is success. */
class ScriptedTransport implements Transport {
  attempts = 0;
  delivered: number[] = [];
  timeouts: Array<[OtlpSignal, number]> = [];
  constructor(private readonly answer: (attempt: number) => Promise<SendOutcome | void> | SendOutcome | void) {}
  async send(signal: OtlpSignal, body: Uint8Array, timeoutMs: number): Promise<SendOutcome> {
    this.attempts++;
    this.timeouts.push([signal, timeoutMs]);
    const outcome = (await this.answer(this.attempts)) ?? { kind: 'success' };
    if (outcome.kind === 'success') this.delivered.push(body[0]);
    return outcome;
  }
  async close(): Promise<void> {}
}

const UNAVAILABLE: SendOutcome = { kind: 'retryable', message: 'unavailable' };

/** Each batch serialises to one byte: its item count. */
function sender(transport: Transport, ctx: ComponentContext, o: Partial<SenderOptions> = {}): QueuedSender {
  const route = { serialize: (items: readonly unknown[]) => new Uint8Array([items.length]), timeoutMs: 100 };
  return new QueuedSender({ queue: QUEUE, retry: RETRY, signals: { traces: route, metrics: route }, transport, ctx, ...o });
}

const total = (ctx: { metrics: ServiceMetrics }, name: string, filter: Record<string, string> = {}) => ctx.metrics.total(name, filter);
const tick = () => new Promise((r) => setTimeout(r, 1));

describe('exporterhelper', () => {
  it('computes Collector-style back-off and gives up after max_elapsed_time', () => {
    const s = { ...RETRY, randomization_factor: 0.5 };
    const st = initialBackoff(s);
    expect(nextWait(s, st, 0)).to.equal(2.5);
    expect(nextWait(s, st, 1)).to.equal(15);
    expect(nextWait(s, st, 0.5)).to.equal(20);
    expect(nextWait(s, st, 0.5, 100)).to.equal(100);
    st.elapsed = 190;
    expect(nextWait(s, st, 0.5)).to.equal(undefined);
    expect(nextWait({ ...s, max_elapsed_time: 0 }, { interval: 5, elapsed: 1e9 }, 0.5)).to.equal(5);
  });

  it('classifies gRPC codes and HTTP statuses as the Collector does', () => {
    expect([1, 4, 10, 11, 14, 15].every((c) => grpcRetryable(c, false))).to.equal(true);
    expect([2, 3, 5, 7, 9, 12, 13, 16].some((c) => grpcRetryable(c, false))).to.equal(false);
    expect(grpcRetryable(8, false)).to.equal(false);
    expect(grpcRetryable(8, true)).to.equal(true);
    expect([429, 502, 503, 504].every(httpRetryable)).to.equal(true);
    expect([400, 401, 403, 404, 413, 500].some(httpRetryable)).to.equal(false);
    expect(parseRetryAfter('3')).to.equal(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).to.equal(6000);
    expect(parseRetryAfter(undefined)).to.equal(undefined);
  });

  it('retries retryable failures and delivers everything', async () => {
    const ctx = context();
    const t = new ScriptedTransport((n) => (n <= 2 ? UNAVAILABLE : undefined));
    const s = sender(t, ctx);
    s.consume([1, 2, 3] as any, 'spans');
    const r = await s.shutdown(1000);
    expect(r.lost).to.equal(0);
    expect(t.attempts).to.equal(3);
    expect(await total(ctx, 'espan_exporter_sent_items_total')).to.equal(3);
  });

  it('drops permanent failures at once, counted', async () => {
    const ctx = context();
    const t = new ScriptedTransport(() => ({ kind: 'permanent', message: 'invalid argument' }));
    const s = sender(t, ctx);
    s.consume([1, 2] as any, 'spans');
    await s.shutdown(1000);
    expect(t.attempts).to.equal(1);
    expect(await total(ctx, 'espan_exporter_send_failed_items_total', { reason: 'permanent' })).to.equal(2);
  });

  it('gives up after max_elapsed_time', async () => {
    const ctx = context();
    const t = new ScriptedTransport(() => UNAVAILABLE);
    const s = sender(t, ctx, { retry: { ...RETRY, max_elapsed_time: 30 } });
    s.consume([1] as any, 'spans');
    await s.shutdown(2000);
    expect(t.attempts).to.be.within(2, 4);
    expect(await total(ctx, 'espan_exporter_send_failed_items_total', { reason: 'retries_exhausted' })).to.equal(1);
  });

  it('drops exactly what does not fit the queue and nothing else', async () => {
    const ctx = context();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t = new ScriptedTransport(() => gate);
    const s = sender(t, ctx);
    // 1 in flight + 3 queued fit; the next 2 batches (2 + 5 items) are dropped.
    for (const n of [1, 1, 1, 1, 2, 5]) s.consume(new Array(n).fill(0), 'spans');
    let readyResolved = false;
    void s.ready().then(() => (readyResolved = true));
    await tick();
    expect(readyResolved).to.equal(false);
    expect(await total(ctx, 'espan_exporter_send_failed_items_total', { reason: 'queue_full' })).to.equal(7);
    release();
    await tick();
    expect(readyResolved).to.equal(true);
    expect((await s.shutdown(1000)).lost).to.equal(0);
    expect(await total(ctx, 'espan_exporter_sent_items_total')).to.equal(4);
  });

  it('holds batches instead of dropping them with block_on_overflow', async () => {
    const ctx = context();
    const t = new ScriptedTransport(async () => {
      await tick();
    });
    const s = sender(t, ctx, { queue: { ...QUEUE, block_on_overflow: true } });
    const held: Array<void | Promise<void>> = [];
    for (let i = 0; i < 10; i++) held.push(s.consume([i] as any, 'spans'));
    expect(held.filter((h) => h instanceof Promise)).to.have.length(6);
    await s.shutdown(1000);
    expect(t.delivered).to.have.length(10);
    expect(await total(ctx, 'espan_exporter_send_failed_items_total')).to.equal(0);
  });

  it('reports what is still queued at the shutdown deadline as lost', async () => {
    const ctx = context();
    const t = new ScriptedTransport(() => UNAVAILABLE);
    const s = sender(t, ctx, { retry: { ...RETRY, max_elapsed_time: 0 } });
    s.consume([1, 2] as any, 'spans');
    s.consume([3] as any, 'spans');
    const r = await s.shutdown(30);
    expect(r.lost).to.equal(3);
    expect(await total(ctx, 'espan_exporter_send_failed_items_total', { reason: 'shutdown' })).to.equal(3);
  });

  it('flattens traces into their spans', async () => {
    const ctx = context();
    const t = new ScriptedTransport(() => undefined);
    const s = sender(t, ctx);
    s.consume([{ traceId: 'a', spans: [1, 2] }, { traceId: 'b', spans: [3] }] as any, 'traces');
    await s.shutdown(1000);
    expect(t.delivered).to.deep.equal([3]);
    expect(await total(ctx, 'espan_exporter_sent_items_total', { signal: 'traces' })).to.equal(3);
  });

  it('counts a transport that throws as a retryable failure', async () => {
    const ctx = context();
    const t = new ScriptedTransport((n) => {
      if (n === 1) throw new Error('socket hang up');
    });
    const s = sender(t, ctx);
    s.consume([1, 2] as any, 'spans');
    expect((await s.shutdown(1000)).lost).to.equal(0);
    expect(t.attempts).to.equal(2);
    expect(await total(ctx, 'espan_exporter_sent_items_total')).to.equal(2);
  });

  it('bounds each attempt by the timeout of its own signal', async () => {
    const ctx = context();
    const t = new ScriptedTransport(() => undefined);
    const serialize = (items: readonly unknown[]) => new Uint8Array([items.length]);
    const s = sender(t, ctx, { signals: { traces: { serialize, timeoutMs: 100 }, metrics: { serialize, timeoutMs: 2500 } } });
    s.consume([1] as any, 'spans');
    s.consume([2] as any, 'metrics');
    await s.shutdown(1000);
    expect(t.timeouts).to.have.deep.members([
      ['traces', 100],
      ['metrics', 2500],
    ]);
  });

  it('gives back the bytes of delivered requests only, once their attempts are over', async () => {
    const ctx = context();
    const released: number[] = [];
    const t = new ScriptedTransport((n) => (n === 1 ? UNAVAILABLE : n === 3 ? { kind: 'permanent', message: 'invalid argument' } : undefined));
    const route = { serialize: (items: readonly unknown[]) => new Uint8Array([items.length]), release: (body: Uint8Array) => void released.push(body[0]), timeoutMs: 100 };
    const s = sender(t, ctx, { signals: { traces: route, metrics: route } });
    s.consume([1, 2] as any, 'spans'); // retried, then delivered
    s.consume([1, 2, 3] as any, 'spans'); // refused: its bytes are not given back
    s.consume([1, 2, 3, 4] as any, 'spans');
    await s.shutdown(1000);
    expect(t.attempts).to.equal(4);
    expect(released).to.deep.equal([2, 4]);
  });
});
