import { expect } from 'chai';
import { MAX_VALUE_BYTES, RecentValues } from './recent-values';

const viewOf = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);

describe('core/otlp RecentValues', () => {
  it('finds a value by the bytes it was kept as, per key, at any offset and length', () => {
    const recent = new RecentValues(4);
    for (let n = 0; n <= MAX_VALUE_BYTES; n++) {
      const text = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP'.slice(0, n);
      const kept = Buffer.from(`..${text}`);
      recent.keep(1, viewOf(kept), 2, kept.length, text);
      const again = Buffer.from(`...${text}.`);
      expect(recent.find(1, viewOf(again), 3, 3 + n)).to.equal(text);
      expect(recent.find(2, viewOf(again), 3, 3 + n)).to.equal(undefined);
      if (n === 0) continue;
      // differing in any one byte (the last ones are compared as a word that can overlap the others)
      for (let i = 0; i < n; i++) {
        const other = Buffer.from(again);
        other[3 + i] ^= 1;
        expect(recent.find(1, viewOf(other), 3, 3 + n)).to.equal(undefined);
      }
      expect(recent.find(1, viewOf(again), 3, 2 + n)).to.not.equal(text);
    }
  });

  it('holds two values per key, replacing the one not found last', () => {
    const recent = new RecentValues(1);
    const b = Buffer.from('/a/b/c');
    const at = (s: number) => [viewOf(b), s, s + 2] as const;
    recent.keep(0, ...at(0), '/a');
    recent.keep(0, ...at(2), '/b');
    expect(recent.find(0, ...at(0))).to.equal('/a');
    recent.keep(0, ...at(4), '/c');
    expect(recent.find(0, ...at(2))).to.equal(undefined);
    expect(recent.find(0, ...at(0))).to.equal('/a');
    expect(recent.find(0, ...at(4))).to.equal('/c');
  });

  it('holds no value longer than MAX_VALUE_BYTES', () => {
    const recent = new RecentValues(1);
    const long = Buffer.alloc(MAX_VALUE_BYTES + 1, 'x');
    recent.keep(0, viewOf(long), 0, long.length, 'x');
    expect(recent.find(0, viewOf(long), 0, long.length)).to.equal(undefined);
  });
});
