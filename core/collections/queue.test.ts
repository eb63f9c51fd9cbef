import { expect } from 'chai';
import { Queue } from './queue';

describe('core Queue', () => {
  it('is first in, first out across compactions, as an array with shift() is', () => {
    const q = new Queue<number>();
    const ref: number[] = [];
    let seed = 3;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) | 0;
      return (seed >>> 8) % n;
    };
    for (let i = 0; i < 20_000; i++) {
      // runs of pushes and shifts, so the queue grows, drains and empties
      if (rand(100) < 52) {
        q.push(i);
        ref.push(i);
      } else {
        expect(q.peek()).to.equal(ref[0]);
        expect(q.shift()).to.equal(ref.shift());
      }
      expect(q.size).to.equal(ref.length);
    }
    expect(q.drain()).to.deep.equal(ref);
    expect(q.size).to.equal(0);
    expect(q.shift()).to.equal(undefined);
  });
});
