import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { batchItems } from './batching';

describe('batchItems', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('emits by size, and the rest after the timeout from the first held item', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('a b c 96ms d 199ms e|', { a: [1, 2], b: [3, 4], c: [5], d: [6], e: [7] });
      const op = batchItems<number>({ sendBatchSize: 4, sendBatchMaxSize: 0, timeoutMs: 100 }, scheduler);
      // a, b, c at frames 0, 1, 2; d at 99; e at 299. Size fills at 1; [5] waits from 2 until 102, taking d along.
      expectObservable(input.pipe(op)).toBe('-x 100ms y 197ms (z|)', { x: [1, 2, 3, 4], y: [5, 6], z: [7] });
    });
  });

  it('flushes what it holds when the input completes', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('a b |', { a: [1], b: [2] });
      expectObservable(input.pipe(batchItems<number>({ sendBatchSize: 100, sendBatchMaxSize: 0, timeoutMs: 1000 }, scheduler))).toBe('--(x|)', { x: [1, 2] });
    });
  });

  it('passes a large batch on in full slices of send_batch_max_size and holds the rest', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('a 9ms b|', { a: [1, 2, 3, 4, 5], b: [6, 7] });
      const op = batchItems<number>({ sendBatchSize: 3, sendBatchMaxSize: 4, timeoutMs: 1000 }, scheduler);
      expectObservable(input.pipe(op)).toBe('x 9ms y|', { x: [1, 2, 3, 4], y: [5, 6, 7] });
    });
  });

  it('with size = max size: splits large batches and holds the rest until the timeout (the ebpf receiver)', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('a 29ms b', { a: [1, 2, 3, 4, 5], b: [6] });
      const op = batchItems<number>({ sendBatchSize: 2, sendBatchMaxSize: 2, timeoutMs: 20 }, scheduler);
      expectObservable(input.pipe(op)).toBe('(xy) 16ms z 29ms w', { x: [1, 2], y: [3, 4], z: [5], w: [6] });
    });
  });

  it('with timeout 0 holds nothing: each batch goes on at once, split only by the maximum (the Collector\'s rule)', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('a 9ms b 9ms c', { a: [1, 2, 3, 4, 5], b: [6], c: [] as number[] });
      const op = batchItems<number>({ sendBatchSize: 3, sendBatchMaxSize: 2, timeoutMs: 0 }, scheduler);
      expectObservable(input.pipe(op)).toBe('(xyz) 5ms w', { x: [1, 2], y: [3, 4], z: [5], w: [6] });
      const t = (id: string, spans: number) => ({ id, spans: Array.from({ length: spans }, (_, i) => i) });
      const [p, q, r] = [t('p', 3), t('q', 5), t('r', 1)];
      const traces = cold('a', { a: [p, q, r] });
      const byTraceSize = batchItems<ReturnType<typeof t>>({ sendBatchSize: 100, sendBatchMaxSize: 4, timeoutMs: 0, sizeOf: (x) => x.spans.length }, scheduler);
      expectObservable(traces.pipe(byTraceSize)).toBe('(uvw)', { u: [p], v: [q], w: [r] });
    });
  });

  it('emits a full batch at once and starts the timer again with the next item', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('a 49ms b 99ms c', { a: [1], b: [2, 3], c: [4] });
      // b fills the batch at 50 ms, before a's timeout; c arrives at 150 ms and waits its own 100 ms.
      expectObservable(input.pipe(batchItems<number>({ sendBatchSize: 3, sendBatchMaxSize: 3, timeoutMs: 100 }, scheduler))).toBe('50ms x 199ms y', { x: [1, 2, 3], y: [4] });
    });
  });

  it('counts what sizeOf says (a trace its spans), never splits an item, and sends one larger than the maximum alone', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const t = (id: string, spans: number) => ({ id, spans: Array.from({ length: spans }, (_, i) => i) });
      const [a, b, c, d, e] = [t('a', 2), t('b', 3), t('c', 9), t('d', 1), t('e', 2)];
      const input = cold('x 9ms y|', { x: [a, b, c], y: [d, e] });
      const op = batchItems<ReturnType<typeof t>>({ sendBatchSize: 4, sendBatchMaxSize: 6, timeoutMs: 1000, sizeOf: (x) => x.spans.length }, scheduler);
      // a+b = 5 spans ≥ 4: out; c (9 > 6) alone; d+e = 3 < 4 wait for the end
      expectObservable(input.pipe(op)).toBe('(pq) 7ms (r|)', { p: [a, b], q: [c], r: [d, e] });
    });
  });
});
