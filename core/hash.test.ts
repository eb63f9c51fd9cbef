import { expect } from 'chai';
import { cyrb128, fnv1a32, WordHash64 } from './hash';

/** Values from before the hashes moved here: a change to any of them changes the ids espan emits for the same capture. */
describe('core hashes', () => {
  it('fnv1a32 keeps its values, seeded or not', () => {
    expect(fnv1a32('')).to.equal(0x811c9dc5);
    expect(fnv1a32('thread-772935')).to.equal(1763231007);
    expect(fnv1a32('10.0.0.187:29937-10.0.0.9:80', 7 ^ 0x811c9dc5)).to.equal(1628734748);
  });

  it('cyrb128 keeps its values', () => {
    const lanes = new Uint32Array(4);
    cyrb128('', lanes);
    expect([...lanes].map((x) => x.toString(16).padStart(8, '0')).join('')).to.equal('027ae52ecfc796215593990d4b41437c');
  });

  it('WordHash64 keeps its values and tells strings apart', () => {
    const hex = (s: string, seed: number) => {
      const h = new WordHash64();
      h.begin(seed);
      h.text(s);
      return h.hex16();
    };
    expect(hex('a', 0)).to.equal('cd72344d8dbe6d5f');
    expect(hex('key', 7)).to.equal('cb584c8f648658f9');
    expect(hex('a', 0)).to.not.equal(hex('b', 0));
  });
});
