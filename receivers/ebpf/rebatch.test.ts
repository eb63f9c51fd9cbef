import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { rebatch } from './rebatch';

describe('ebpf rebatch', () => {
  const scheduler = () =>
    new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });

  it('splits large batches at max size and holds the rest until the timeout', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('a 29ms b', { a: [1, 2, 3, 4, 5], b: [6] });
      expectObservable(input.pipe(rebatch(2, 20))).toBe('(xy) 16ms z 29ms w', { x: [1, 2], y: [3, 4], z: [5], w: [6] });
    });
  });

  it('emits what it holds when the input completes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('a 5ms |', { a: [1, 2, 3] });
      expectObservable(input.pipe(rebatch(10, 100))).toBe('6ms (x|)', { x: [1, 2, 3] });
    });
  });

  it('emits a full batch at once and starts the timer with the next item', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('a 49ms b 99ms c', { a: [1], b: [2, 3], c: [4] });
      // b fills the batch at 50 ms, before a's timeout; c arrives at 150 ms and waits its own 100 ms.
      expectObservable(input.pipe(rebatch(3, 100))).toBe('50ms x 199ms y', { x: [1, 2, 3], y: [4] });
    });
  });
});
