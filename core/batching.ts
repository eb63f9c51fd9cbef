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
      // What is held: pieces of the batches that came (whole or sliced), joined once when sent
      // instead of pushed item by item into an array that grows (and is copied) as it fills.
      let pieces: T[][] = [];
      let heldCount = 0;
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
        // batch[from, i) is the next piece and counts `size`; a batch that fits goes on as it is
        let from = 0;
        let size = 0;
        for (let i = 0; i < batch.length; i++) {
          const itemSize = sizeOf(batch[i]);
          if (i > from && size + itemSize > max) {
            subscriber.next(batch.slice(from, i));
            from = i;
            size = 0;
          }
          size += itemSize;
        }
        subscriber.next(from === 0 ? batch : batch.slice(from));
      };
      /** Holds batch[from, to), which counts `size`. */
      const hold = (batch: T[], from: number, to: number, size: number): void => {
        if (to <= from) return;
        pieces.push(from === 0 && to === batch.length ? batch : batch.slice(from, to));
        heldCount += to - from;
        heldSize += size;
      };
      const emit = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (heldCount === 0) return;
        const out = pieces.length === 1 ? pieces[0] : joined(pieces, heldCount);
        pieces = [];
        heldCount = 0;
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
            // batch[from, i) is on its way into the held batch and counts `size`
            let from = 0;
            let size = 0;
            for (let i = 0; i < batch.length; i++) {
              const itemSize = sizeOf(batch[i]);
              if (heldCount + i - from > 0 && heldSize + size + itemSize > max) {
                hold(batch, from, i, size);
                emit();
                from = i;
                size = 0;
              }
              size += itemSize;
              if (heldSize + size >= opts.sendBatchSize) {
                hold(batch, from, i + 1, size);
                emit();
                from = i + 1;
                size = 0;
              }
            }
            hold(batch, from, batch.length, size);
          } else {
            let i = 0;
            // A large batch goes on untouched, or in full slices, instead of through what is held.
            if (heldCount === 0 && batch.length >= opts.sendBatchSize) {
              if (batch.length <= max) {
                subscriber.next(batch);
                return;
              }
              for (; i + max <= batch.length; i += max) subscriber.next(batch.slice(i, i + max));
            }
            while (i < batch.length) {
              const take = Math.min(Math.max(1, opts.sendBatchSize - heldCount), batch.length - i);
              hold(batch, i, i + take, take);
              i += take;
              if (heldCount >= opts.sendBatchSize) emit();
            }
          }
          if (heldCount && !timer) timer = scheduler.schedule(emit, opts.timeoutMs);
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

/** The items of `pieces` (`count` in all) in one array, made at its size. */
function joined<T>(pieces: T[][], count: number): T[] {
  const out = new Array<T>(count);
  let k = 0;
  for (const piece of pieces) for (let i = 0; i < piece.length; i++) out[k++] = piece[i];
  return out;
}
