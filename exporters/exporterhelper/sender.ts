/**
 * The Collector's exporterhelper for espan, in layers as its connectSenders
 * joins them: a bounded sending queue drained by `num_consumers` concurrent
 * senders → the retry layer (retry.ts) → a timeout per attempt, the signal's
 * own → the transport; the telemetry layer counts what each request became.
 * Every item ends in exactly one counter: sent, or failed with a reason
 * (queue_full, permanent, retries_exhausted, partial_success, shutdown), so
 * "nothing lost while the queue has room" can be checked.
 */
import type { ComponentContext, ExportResult } from '../../core/component';
import { flattenTraces } from '../../core/otlp/encode';
import type { Batch, SignalType } from '../../core/signals';
import type { QueueSettings, RetrySettings } from './config';
import { realSleep, sendWithRetry, type Delivery, type Sleep } from './retry';
import type { Releaser, Serializer } from './serializer';
import type { OtlpSignal, PerSignal, SendOutcome, Transport } from './transport';

/** How one signal's batches become bytes, and how long one attempt to send them may take. */
export interface SignalRoute {
  serialize: Serializer;
  /** takes back the bytes of a delivered request (the transport is done with them) */
  release?: Releaser;
  timeoutMs: number;
}

export interface SenderOptions {
  queue: QueueSettings;
  retry: RetrySettings;
  signals: PerSignal<SignalRoute>;
  transport: Transport;
  ctx: ComponentContext;
  sleep?: Sleep;
  random?: () => number;
  now?: () => number;
}

/** Sender options tests and benchmarks may replace: time and chance. */
export type SenderClock = Pick<SenderOptions, 'sleep' | 'random' | 'now'>;

interface Item {
  /** the signal the pipeline delivered, for counters */
  signal: SignalType;
  otlp: OtlpSignal;
  items: readonly unknown[];
  count: number;
  /** counted already (sent or failed): guards against counting twice when shutdown gives up on it */
  settled: boolean;
}

/** The timeout layer: each attempt is bounded by its own signal's timeout; a transport that throws failed retryably. */
function withTimeouts(transport: Transport, signals: PerSignal<SignalRoute>) {
  return (signal: OtlpSignal, body: Uint8Array): Promise<SendOutcome> =>
    transport.send(signal, body, signals[signal].timeoutMs).catch((e: unknown): SendOutcome => ({ kind: 'retryable', message: (e as Error)?.message ?? String(e) }));
}

export class QueuedSender {
  private readonly queue: Item[] = [];
  /** block_on_overflow: batches waiting for room in the queue */
  private readonly blocked: Array<{ item: Item; admit: () => void }> = [];
  private readonly inflight = new Set<Item>();
  private readonly roomWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();
  private closed = false;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly attempt: (signal: OtlpSignal, body: Uint8Array) => Promise<SendOutcome>;
  private readonly lastLog = new Map<string, number>();

  constructor(private readonly o: SenderOptions) {
    this.sleep = o.sleep ?? realSleep;
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
    this.attempt = withTimeouts(o.transport, o.signals);
    this.reportQueue();
  }

  consume(batch: Batch<any>, signal: SignalType): void | Promise<void> {
    const items = signal === 'traces' ? flattenTraces(batch as any) : batch;
    if (items.length === 0) return;
    const item: Item = { signal, otlp: signal === 'metrics' ? 'metrics' : 'traces', items, count: items.length, settled: false };
    if (this.closed) {
      this.fail(item, 'shutdown');
      return;
    }
    if (!this.o.queue.enabled) return this.run(item);
    if (this.queue.length >= this.o.queue.queue_size) {
      if (!this.o.queue.block_on_overflow) {
        this.fail(item, 'queue_full');
        this.logThrottled('queue_full', 'sending queue is full; dropping batch', { dropped: item.count, queue_size: this.o.queue.queue_size });
        return;
      }
      return new Promise<void>((admit) => this.blocked.push({ item, admit }));
    }
    this.queue.push(item);
    this.reportQueue();
    this.pump();
  }

  /** Resolves when a new batch would be queued (or sent, without a queue) rather than dropped or held. */
  ready(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Batches waiting plus batches being sent. */
  pending(): { queued: number; inflight: number } {
    return { queued: this.queue.length + this.blocked.length, inflight: this.inflight.size };
  }

  async shutdown(deadlineMs: number): Promise<ExportResult> {
    this.closed = true;
    const drained = this.isIdle() || (await Promise.race([new Promise<boolean>((r) => this.idleWaiters.push(() => r(true))), this.sleep(deadlineMs).then(() => false)]));
    let lost = 0;
    if (!drained) {
      this.abort.abort();
      const left = [...this.inflight, ...this.queue, ...this.blocked.map((b) => b.item)];
      for (const b of this.blocked) b.admit();
      this.blocked.length = 0;
      this.queue.length = 0;
      for (const item of left) {
        if (item.settled) continue;
        lost += item.count;
        this.fail(item, 'shutdown');
      }
      this.reportQueue();
    }
    await this.o.transport.close();
    return { lost };
  }

  private hasRoom(): boolean {
    if (!this.o.queue.enabled) return this.inflight.size < this.o.queue.num_consumers;
    return this.queue.length < this.o.queue.queue_size && this.blocked.length === 0;
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.blocked.length === 0 && this.inflight.size === 0;
  }

  private pump(): void {
    while (this.inflight.size < this.o.queue.num_consumers && this.queue.length) {
      const item = this.queue.shift()!;
      const next = this.blocked.shift();
      if (next) {
        this.queue.push(next.item);
        next.admit();
      }
      this.reportQueue();
      void this.run(item);
    }
    if (this.hasRoom()) for (const w of this.roomWaiters.splice(0)) w();
  }

  private async run(item: Item): Promise<void> {
    this.inflight.add(item);
    try {
      await this.deliver(item);
    } finally {
      this.inflight.delete(item);
      this.pump();
      if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async deliver(item: Item): Promise<void> {
    let body: Uint8Array;
    try {
      body = this.o.signals[item.otlp].serialize(item.items);
    } catch (e) {
      this.fail(item, 'permanent');
      this.o.ctx.logger.error('cannot encode batch; dropping it', { error: (e as Error).message, items: item.count });
      return;
    }
    const delivery = await sendWithRetry(
      () => this.attempt(item.otlp, body),
      {
        retry: this.o.retry,
        sleep: this.sleep,
        random: this.random,
        now: this.now,
        onRetry: (error, wait, attempt) => this.logThrottled('retry', 'export failed; will retry', { error, interval_ms: Math.round(wait), attempt }),
      },
      this.abort.signal,
    );
    if (!item.settled) this.count(item, delivery);
    // answered: the transport has sent every byte and holds none (a request that failed or timed out may still be written)
    if (delivery.kind === 'delivered') this.o.signals[item.otlp].release?.(body);
  }

  /** The telemetry layer: what a request became, in the counters and (throttled) in the log. */
  private count(item: Item, delivery: Delivery): void {
    const { telemetry } = this.o.ctx;
    switch (delivery.kind) {
      case 'abandoned':
        return; // shutdown counts it
      case 'dropped':
        this.fail(item, delivery.reason);
        if (delivery.reason === 'permanent') {
          this.logThrottled('permanent', 'export failed permanently; dropping batch', { error: delivery.message, dropped: item.count, retryable: delivery.retryable });
        } else {
          this.logThrottled('retries_exhausted', 'export failed after retrying max_elapsed_time; dropping batch', { error: delivery.message, dropped: item.count, attempts: delivery.attempts });
        }
        return;
      case 'delivered': {
        item.settled = true;
        const partial = delivery.outcome.kind === 'partial' ? delivery.outcome : undefined;
        const rejected = Math.min(partial?.rejected ?? 0, item.count);
        if (rejected > 0) {
          telemetry.failed(rejected, item.signal, 'partial_success');
          this.logThrottled('partial_success', 'backend rejected part of a batch', { rejected, error_message: partial!.errorMessage });
        } else if (partial?.errorMessage) {
          this.logThrottled('partial_warning', 'backend accepted the batch with a warning', { error_message: partial.errorMessage });
        }
        telemetry.sent(item.count - rejected, item.signal);
      }
    }
  }

  private fail(item: Item, reason: string): void {
    if (item.settled) return;
    item.settled = true;
    this.o.ctx.telemetry.failed(item.count, item.signal, reason);
  }

  private reportQueue(): void {
    this.o.ctx.telemetry.queue(this.queue.length + this.blocked.length, this.o.queue.enabled ? this.o.queue.queue_size : 0);
  }

  /** One line per reason every 5 s: a backend outage must not flood the log. */
  private logThrottled(reason: string, msg: string, fields: Record<string, unknown>): void {
    const t = this.now();
    if (t - (this.lastLog.get(reason) ?? -Infinity) < 5000) return;
    this.lastLog.set(reason, t);
    const level = reason === 'retry' || reason === 'partial_warning' ? 'warn' : 'error';
    this.o.ctx.logger[level](msg, fields);
  }
}
