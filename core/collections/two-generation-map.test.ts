import { expect } from 'chai';
import { TwoGenerationMap } from './two-generation-map';

describe('core TwoGenerationMap', () => {
  it('keeps the newest writes within its bound, dropping the old generation whole', () => {
    const m = new TwoGenerationMap<string, number>(4);
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) m.set(k, i);
    expect(m.size).to.equal(4);
    expect([m.getOld('a'), m.getYoung('c')]).to.deep.equal([0, 2]);
    m.set('c', 20); // already young: no ageing
    expect([m.getOld('a'), m.getYoung('c'), m.size]).to.deep.equal([0, 20, 4]);
    m.set('e', 4); // young full: a and b go, c and d age
    expect([m.getOld('a'), m.getYoung('a'), m.getOld('c'), m.getYoung('e'), m.size]).to.deep.equal([undefined, undefined, 20, 4, 3]);
  });

  it('getAndRenew moves an old key to the young generation, so it outlives the next ageing', () => {
    const m = new TwoGenerationMap<string, boolean>(4);
    for (const k of ['a', 'b', 'c', 'd']) m.set(k, false); // old: a b, young: c d
    expect(m.getAndRenew('a')).to.equal(false); // old: c d, young: a
    m.set('e', true);
    m.set('f', true); // old: a e, young: f
    expect(m.getAndRenew('a')).to.equal(false);
    expect(m.getAndRenew('b')).to.equal(undefined);
    expect(m.getAndRenew('c')).to.equal(undefined);
  });

  it('stays within twice a generation under any writes', () => {
    const m = new TwoGenerationMap<number, number>(100);
    for (let i = 0; i < 10_000; i++) {
      m.set(i % 337, i);
      expect(m.size).to.be.at.most(100);
    }
  });
});
