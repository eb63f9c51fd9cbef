import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { statefulOperator, type StatefulEngine } from './stateful-operator';

/** Holds numbers; a tick releases what it holds, flush the rest; `throwOn` makes add or tick throw. */
function engine(throwOn?: { add?: number; tick?: number }): StatefulEngine<number, number> {
  let held: number[] = [];
  let ticks = 0;
  return {
    add(batch) {
      if (batch.includes(throwOn?.add ?? NaN)) throw new Error('add failed');
      held.push(...batch);
      return [];
    },
    tick() {
      if (++ticks === throwOn?.tick) throw new Error('tick failed');
      const out = held;
      held = [];
      return out;
    },
    flush() {
      const out = held;
      held = [];
      return out;
    },
  };
}

describe('statefulOperator', () => {
  const scheduler = () => new TestScheduler((a, b) => {
    expect(a).to.deep.equal(b);
  });

  it('emits what ticks release, never an empty batch, and flushes on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold<number[]>('a 14ms b 20ms c|', { a: [1], b: [2], c: [3] });
      expectObservable(input.pipe(statefulOperator(() => engine(), 10))).toBe('10ms x 9ms y 16ms (z|)', { x: [1], y: [2], z: [3] });
    });
  });

  it('routes a throw in add or in a tick downstream as an error and stops ticking', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const input = cold<number[]>('a 4ms b 20ms c|', { a: [1], b: [7], c: [3] });
      expectObservable(input.pipe(statefulOperator(() => engine({ add: 7 }), 10))).toBe('5ms #', undefined, new Error('add failed'));
      expectSubscriptions(input.subscriptions).toBe('^ 4ms !');
    });
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold<number[]>('a 30ms b|', { a: [1], b: [2] });
      expectObservable(input.pipe(statefulOperator(() => engine({ tick: 2 }), 10))).toBe('10ms x 9ms #', { x: [1] }, new Error('tick failed'));
    });
  });
});
