import { Observable, asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

/**
 * Regroups batches of any size into batches of at most `maxSize` items,
 * emitting a partial batch once its first item has waited `timeoutMs`. What is
 * held is emitted when the input completes (shutdown flushes).
 *
 * ```ts
 * addonBatches$.pipe(rebatch(8192, 200)) // ≤ 8192 records, none older than 200 ms
 * ```
 */
export function rebatch<T>(maxSize: number, timeoutMs: number, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T[], T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let held: T[] = [];
      let timer: Subscription | undefined;
      const emit = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (!held.length) return;
        const out = held;
        held = [];
        subscriber.next(out);
      };
      const sub = source.subscribe({
        next(batch) {
          let i = 0;
          // A large incoming batch goes out in full slices without being copied item by item into `held`.
          if (!held.length && batch.length >= maxSize) {
            for (; i + maxSize <= batch.length; i += maxSize) subscriber.next(batch.length === maxSize ? batch : batch.slice(i, i + maxSize));
          }
          for (; i < batch.length; i++) {
            held.push(batch[i]);
            if (held.length >= maxSize) emit();
          }
          if (held.length && !timer) timer = scheduler.schedule(emit, timeoutMs);
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
