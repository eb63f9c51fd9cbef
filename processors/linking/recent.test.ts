import { expect } from 'chai';
import { RecentLinks } from './recent';
import { NONE } from './slots';

describe('linking RecentLinks', () => {
  it('finds the newest entry of a key, keys of one hash kept apart by key and sequence number', () => {
    const recent = new RecentLinks(100, true);
    recent.add(7, 'conn', 1, 'a'.repeat(32), 'b'.repeat(16), 10, 20);
    recent.add(7, 'other', 1, 'c'.repeat(32), undefined, 0, 0);
    recent.add(7, 'conn', 2n ** 64n, 'd'.repeat(32), undefined, 0, 0);
    recent.add(7, 'conn', 1, 'e'.repeat(32), 'f'.repeat(16), 30, 40);
    const e = recent.find(7, 'conn', 1);
    expect([recent.traceId(e), recent.spanId(e), recent.start(e), recent.end(e)]).to.deep.equal(['e'.repeat(32), 'f'.repeat(16), 30, 40]);
    expect(recent.spanId(recent.find(7, 'other', 1))).to.equal(undefined);
    expect(recent.traceId(recent.find(7, 'conn', 2n ** 64n))).to.equal('d'.repeat(32));
    expect(recent.find(7, 'conn', 3)).to.equal(NONE);
    expect(recent.find(8, 'conn', 1)).to.equal(NONE);
    expect(recent.find(7, 'conn', undefined)).to.equal(NONE);
    recent.add(7, 'conn', undefined, 'a'.repeat(32), undefined, 0, 0);
    expect(recent.traceId(recent.find(7, 'conn', undefined))).to.equal('a'.repeat(32));
  });

  it('tells an entry without a sequence number from one written after the first that has one', () => {
    const recent = new RecentLinks(10, true);
    recent.add(1, 'thread', undefined, 'a'.repeat(32), undefined, 0, 0);
    recent.add(1, 'conn', 0, 'b'.repeat(32), undefined, 0, 0);
    expect(recent.traceId(recent.find(1, 'thread', undefined))).to.equal('a'.repeat(32));
    expect(recent.find(1, 'thread', 0)).to.equal(NONE);
    expect(recent.find(1, 'conn', undefined)).to.equal(NONE);
  });

  it('holds the `capacity` most recent entries, growing to them and then overwriting the oldest', () => {
    const capacity = 3000;
    const recent = new RecentLinks(capacity, false);
    const id = (i: number) => i.toString(16).padStart(32, '0');
    const sizes: number[] = [];
    // few hashes: long chains, whose last entry leaves
    for (let i = 0; i < 10_000; i++) {
      recent.add(i % 401, id(i), undefined, id(i + 1), undefined, i, i + 1);
      sizes.push(recent.size);
    }
    expect(sizes.every((n, i) => n === Math.min(i + 1, capacity))).to.equal(true);
    const found = Array.from({ length: 10_000 }, (_, i) => recent.find(i % 401, id(i), undefined));
    expect(found.slice(0, 10_000 - capacity).every((e) => e === NONE)).to.equal(true);
    expect(found.slice(10_000 - capacity).every((e, k) => recent.traceId(e) === id(10_000 - capacity + k + 1) && recent.start(e) === 10_000 - capacity + k)).to.equal(true);
  });

  it('gives back time ranges exactly: ns since the epoch, lengths past 32 bits of its unit, ends off its unit', () => {
    const t = Number(1796285272651727755n);
    const ranges = [[t, t + 1_000_000], [t, t + 2 ** 45], [t, t], [1000, 2001.5], [5, 3], [0, 0], [t, 0], [0, t], [1, 1e300]];
    const recent = new RecentLinks(ranges.length, false);
    ranges.forEach(([start, end], i) => recent.add(i, `k${i}`, undefined, 'a'.repeat(32), undefined, start, end));
    ranges.forEach(([start, end], i) => {
      const e = recent.find(i, `k${i}`, undefined);
      expect([recent.start(e), recent.end(e)]).to.deep.equal([start, end]);
    });
  });

  it('remembers nothing with capacity 0', () => {
    const recent = new RecentLinks(0, false);
    recent.add(1, 'k', undefined, 'a'.repeat(32), undefined, 0, 0);
    expect(recent.size).to.equal(0);
    expect(recent.find(1, 'k', undefined)).to.equal(NONE);
  });
});
