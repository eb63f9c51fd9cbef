import { expect } from 'chai';
import { EndColumn } from './end-column';

describe('EndColumn', () => {
  it('gives back every end exactly: ns since the epoch, lengths past 32 bits of its unit, ends off its unit or before the start', () => {
    const t = Number(1796285272651727755n);
    const ranges = [[t, t + 1_000_000], [t, t + 2 ** 45], [t, t], [1000, 2001.5], [5, 3], [0, 0], [t, 0], [0, t], [1, 1e300], [t, NaN]];
    const ends = new EndColumn(ranges.length);
    ranges.forEach(([start, end], i) => ends.set(i, start, end));
    ranges.forEach(([start, end], i) => expect(ends.get(i, start)).to.deep.equal(end));
  });

  it('forgets a side value once the entry is set again, and keeps its ends through a resize', () => {
    const ends = new EndColumn(2);
    ends.set(0, 10, 1e300);
    ends.set(0, 0, 512);
    expect(ends.get(0, 0)).to.equal(512);
    ends.resize(4);
    ends.set(3, 256, 1024);
    expect([ends.get(0, 0), ends.get(3, 256)]).to.deep.equal([512, 1024]);
  });
});
