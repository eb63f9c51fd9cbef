import { expect } from 'chai';
import { cyrb128, fnv1a32, wordHash128, WordHash64 } from './hash';

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

  it('wordHash128 is two WordHash64 of the same words, in one pass', () => {
    const h = new WordHash64();
    const words = new Uint32Array(8);
    const two = new Uint32Array(4);
    const one = new Uint32Array(5);
    for (let i = 0; i < 2000; i++) {
      const n = i % 9;
      for (let j = 0; j < n; j++) words[j] = i % 7 === 0 ? 0 : Math.floor(Math.random() * 2 ** 32);
      const [seedA, seedB] = i % 5 === 0 ? [0, 0] : [0x54485244, (Math.random() * 2 ** 32) >>> 0];
      h.begin(seedA);
      h.words(words, n);
      h.bits64(two, 0);
      h.begin(seedB);
      h.words(words, n);
      h.bits64(two, 2);
      wordHash128(seedA, seedB, words, n, one, 1);
      expect([...one.subarray(1)]).to.deep.equal([...two], `seeds ${seedA}, ${seedB}, words ${[...words.subarray(0, n)]}`);
    }
  });
});
