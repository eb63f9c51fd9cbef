/**
 * Regrouping batches by size and time, as the Collector's batch processor does:
 * the `batch` processor is this operator, and receivers batch their edge with it.
 */
import { Observable, asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export interface BatchOptions<T = unknown> {
  /** emit once this many items are held */
  sendBatchSize: number;
  /** no emitted batch is larger than this; 0 means no limit */
  sendBatchMaxSize: number;
  /**
   * emit what is held this long after its first item arrived; 0, as in the
   * Collector, sends every batch on at once, split only by sendBatchMaxSize
   */
  timeoutMs: number;
  /**
   * What an item counts for the sizes above; 1 when absent. A trace counts its
   * spans, as the Collector's batch processor counts spans: a trace is never
   * split, so one larger than sendBatchMaxSize leaves alone.
   */
  sizeOf?: (item: T) => number;
}

/**
 * Regroups batches into batches of sendBatchSize items (never more than
 * sendBatchMaxSize), as the Collector's batch processor does: by size, or by
 * timeout after the first held item. Everything held is emitted when the
 * input completes.
 *
 * @example
 *   records$.pipe(batchItems({ sendBatchSize: 8192, sendBatchMaxSize: 0, timeoutMs: 200 }))
 */
export function batchItems<T>(opts: BatchOptions<T>, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T[], T[]> {
  const max = opts.sendBatchMaxSize > 0 ? opts.sendBatchMaxSize : Infinity;
  const sizeOf = opts.sizeOf;
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let held: T[] = [];
      let heldSize = 0;
      let timer: Subscription | undefined;
      // timeout 0: nothing is held; a batch over the maximum goes on in pieces (a trace is never split)
      const passOn = (batch: T[]): void => {
        if (batch.length === 0) return;
        if (!sizeOf) {
          if (batch.length <= max) subscriber.next(batch);
          else for (let i = 0; i < batch.length; i += max) subscriber.next(batch.slice(i, i + max));
          return;
        }
        let piece: T[] = [];
        let pieceSize = 0;
        for (const item of batch) {
          const size = sizeOf(item);
          if (piece.length && pieceSize + size > max) {
            subscriber.next(piece);
            piece = [];
            pieceSize = 0;
          }
          piece.push(item);
          pieceSize += size;
        }
        if (piece.length) subscriber.next(piece);
      };
      const emit = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (held.length === 0) return;
        const out = held;
        held = [];
        heldSize = 0;
        subscriber.next(out);
      };
      const sub = source.subscribe({
        next(batch) {
          if (opts.timeoutMs <= 0) {
            passOn(batch);
            return;
          }
          if (sizeOf) {
            for (const item of batch) {
              const size = sizeOf(item);
              if (held.length && heldSize + size > max) emit();
              held.push(item);
              heldSize += size;
              if (heldSize >= opts.sendBatchSize) emit();
            }
            if (held.length && !timer && opts.timeoutMs > 0) timer = scheduler.schedule(emit, opts.timeoutMs);
            return;
          }
          let i = 0;
          // A large batch goes on untouched, or in full slices, instead of item by item through `held`.
          if (held.length === 0 && batch.length >= opts.sendBatchSize) {
            if (batch.length <= max) {
              subscriber.next(batch);
              return;
            }
            for (; i + max <= batch.length; i += max) subscriber.next(batch.slice(i, i + max));
          }
          for (; i < batch.length; i++) {
            held.push(batch[i]);
            if (held.length >= opts.sendBatchSize) emit();
          }
          if (held.length && !timer && opts.timeoutMs > 0) timer = scheduler.schedule(emit, opts.timeoutMs);
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
