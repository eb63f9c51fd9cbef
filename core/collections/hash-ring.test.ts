import { expect } from 'chai';
import fc from 'fast-check';
import { HashRing, NO_ENTRY } from './hash-ring';

/** The entries of `hash`'s chain whose own hash is `hash`, newest first. */
function entriesOf(ring: HashRing, hash: number): number[] {
  const out: number[] = [];
  for (let e = ring.first(hash); e !== NO_ENTRY; e = ring.next(e)) if (ring.hashOf(e) === hash) out.push(e);
  return out;
}

describe('HashRing', () => {
  it('finds the capacity most recently added records by hash, newest first, as a plain list does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 200 }), (capacity, hashes) => {
        const ring = new HashRing(capacity);
        const added: Array<{ hash: number; entry: number }> = [];
        for (const h of hashes) {
          const e = ring.add(h);
          expect(e).to.be.below(capacity);
          added.push({ hash: h, entry: e });
        }
        const held = added.slice(-capacity);
        expect(ring.size).to.equal(held.length);
        for (let h = 0; h <= 12; h++) {
          const want = held.filter((a) => a.hash === h).map((a) => a.entry).reverse();
          expect(entriesOf(ring, h)).to.deep.equal(want);
        }
      }),
    );
  });

  it('ends a chain where an entry was taken again, by any hash in any bucket', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 600 }), (capacity, keys) => {
        const ring = new HashRing(capacity);
        const added = keys.map((k) => {
          const hash = Math.imul(k, 0x9e3779b1);
          return { hash, entry: ring.add(hash) };
        });
        const held = added.slice(-capacity);
        for (const { hash } of added) {
          const want = held.filter((a) => a.hash === hash).map((a) => a.entry).reverse();
          // a chain walks held entries only, each once
          let steps = 0;
          for (let e = ring.first(hash); e !== NO_ENTRY && steps <= capacity; e = ring.next(e)) steps++;
          expect(steps).to.be.at.most(capacity);
          expect(entriesOf(ring, hash)).to.deep.equal(want);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
