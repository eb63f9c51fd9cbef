/**
 * Replays a capture file as `records`, as fast as the exporters take it or at
 * the recorded pace. Damaged frames are skipped, logged with their byte
 * offset and counted; the output completes at the end of the file.
 */
import { Subject } from 'rxjs';
import type { ComponentContext, Receiver, ReceiverRuntime } from '../../core/component';
import { readCapture, type CorruptionReport } from '../../core/capture/format';
import type { NetworkRecord } from '../../core/signals';
import type { ReplayConfig } from './factory';

export class ReplayReceiver implements Receiver<'records'> {
  private readonly subject = new Subject<NetworkRecord[]>();
  readonly output = this.subject.asObservable();
  readonly readsFile = true;
  private stopping = false;
  private running: Promise<void> = Promise.resolve();
  /** damaged stretches skipped so far */
  corrupt = 0;

  constructor(
    private readonly config: ReplayConfig,
    private readonly ctx: ComponentContext,
  ) {}

  async start(runtime: ReceiverRuntime): Promise<void> {
    // Open the file now so a missing or foreign file fails start-up with its reason.
    const it = readCapture(this.config.path, { batchSize: this.config.batch_size, onCorrupt: (r) => this.onCorrupt(r) });
    const first = await it.next();
    this.running = this.loop(it, first, runtime).then(
      () => this.subject.complete(),
      (e: Error) => {
        this.ctx.logger.error('replay stopped', { path: this.config.path, error: e.message });
        this.subject.complete();
      },
    );
  }

  private onCorrupt(r: CorruptionReport): void {
    this.corrupt++;
    this.ctx.telemetry.refused(1, 'records', r.truncated ? 'truncated' : 'corrupt');
    this.ctx.logger.warn(r.truncated ? 'capture file is truncated' : 'skipped a corrupt stretch of the capture file', {
      path: this.config.path,
      offset: r.offset,
      skipped_bytes: r.skippedBytes,
      reason: r.reason,
    });
  }

  private async loop(
    it: AsyncGenerator<NetworkRecord[], unknown>,
    first: IteratorResult<NetworkRecord[], unknown>,
    runtime: ReceiverRuntime,
  ): Promise<void> {
    const paced = this.config.timing === 'recorded';
    let t0Record = -1;
    let t0Wall = 0;
    for (let r = first; !r.done && !this.stopping; r = await it.next()) {
      const batch = r.value;
      if (paced) {
        if (t0Record < 0) {
          t0Record = batch[0].ts;
          t0Wall = performance.now();
        }
        await this.emitPaced(batch, t0Record, t0Wall);
      } else {
        await runtime.waitForCapacity();
        this.subject.next(batch);
        // Let timers and sockets run between batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    if (this.stopping) await it.return(undefined);
  }

  /** Emits the records of a batch as their recorded time comes, in groups a millisecond wide. */
  private async emitPaced(batch: NetworkRecord[], t0Record: number, t0Wall: number): Promise<void> {
    let from = 0;
    while (from < batch.length && !this.stopping) {
      const dueMs = (batch[from].ts - t0Record) / 1e6 / this.config.speed;
      const wait = t0Wall + dueMs - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const horizon = t0Record + (performance.now() - t0Wall + 1) * 1e6 * this.config.speed;
      let to = from + 1;
      while (to < batch.length && batch[to].ts <= horizon) to++;
      this.subject.next(batch.slice(from, to));
      from = to;
    }
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.subject.complete();
  }
}
