import { Observable, asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export interface BatchOptions {
  /** emit once this many items are held */
  sendBatchSize: number;
  /** no emitted batch is larger than this; 0 means no limit */
  sendBatchMaxSize: number;
  /** emit what is held this long after its first item arrived; 0 means only by size */
  timeoutMs: number;
}

/**
 * Regroups batches into batches of about sendBatchSize items, as the
 * Collector's batch processor does: by size, or by timeout after the first
 * held item. Everything held is emitted when the input completes.
 *
 * @example
 *   records$.pipe(batchItems({ sendBatchSize: 8192, sendBatchMaxSize: 0, timeoutMs: 200 }))
 */
export function batchItems<T>(opts: BatchOptions, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T[], T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let held: T[] = [];
      let timer: Subscription | undefined;
      const emit = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (held.length === 0) return;
        const out = held;
        held = [];
        const max = opts.sendBatchMaxSize;
        if (max > 0 && out.length > max) {
          for (let i = 0; i < out.length; i += max) subscriber.next(out.slice(i, i + max));
        } else subscriber.next(out);
      };
      const sub = source.subscribe({
        next(batch) {
          if (batch.length === 0) return;
          // Pass a large batch on untouched instead of copying it item by item.
          if (held.length === 0 && batch.length >= opts.sendBatchSize && (opts.sendBatchMaxSize === 0 || batch.length <= opts.sendBatchMaxSize)) {
            subscriber.next(batch);
            return;
          }
          for (const item of batch) held.push(item);
          if (held.length >= opts.sendBatchSize) emit();
          else if (!timer && opts.timeoutMs > 0) timer = scheduler.schedule(emit, opts.timeoutMs);
        },
        error(e) {
          timer?.unsubscribe();
          subscriber.error(e);
        },
        complete() {
          emit();
          subscriber.complete();
        },
      });
      return () => {
        timer?.unsubscribe();
        sub.unsubscribe();
      };
    });
}
