import { expect } from 'chai';
import { idOf, span, trace } from '../testutil';
import { Decision } from './policy';
import { hashTraceId, hashTraceIdBigint, Probabilistic, thresholdFor } from './probabilistic';

/** Spread-out ids as real trace ids are: FNV mixes nearby ids poorly (so does the Collector's). */
function randomId(seed: number): string {
  let x = seed * 2654435761 + 1;
  let hex = '';
  for (let i = 0; i < 4; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
    hex += x.toString(16).padStart(8, '0');
  }
  return hex;
}

describe('tail_sampling probabilistic', () => {
  it('hashes with FNV-1a 64 over salt then id bytes', () => {
    // FNV-1a 64 of the empty input is the offset basis
    expect(hashTraceId('', '')).to.equal(0xcbf29ce484222325n);
    // FNV-1a 64 of "a"
    expect(hashTraceId('a', '')).to.equal(0xaf63dc4c8601ec8cn);
    expect(hashTraceId('', '61')).to.equal(0xaf63dc4c8601ec8cn);
  });

  it('keeps about the configured share of trace ids, the same ones every time', () => {
    const p = new Probabilistic({ hash_salt: '', sampling_percentage: 25 });
    let kept = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const t = trace([span()], idOf(i * 7919 + 13));
      if (p.evaluate(t) === Decision.Sampled) kept++;
      expect(p.evaluate(t)).to.equal(p.evaluate(t));
    }
    expect(kept / n).to.be.within(0.22, 0.28);
  });

  it('0% keeps nothing and 100% keeps everything', () => {
    const none = new Probabilistic({ hash_salt: 's', sampling_percentage: 0 });
    const all = new Probabilistic({ hash_salt: 's', sampling_percentage: 100 });
    for (let i = 0; i < 100; i++) {
      expect(none.evaluate(trace([span()], idOf(i)))).to.equal(Decision.NotSampled);
      expect(all.evaluate(trace([span()], idOf(i)))).to.equal(Decision.Sampled);
    }
    const half = thresholdFor(50);
    expect(half > 0x7fffffffffff0000n && half < 0x8000000000010000n).to.equal(true);
  });

  it('a different salt keeps different traces', () => {
    const a = new Probabilistic({ hash_salt: 'a', sampling_percentage: 50 });
    const b = new Probabilistic({ hash_salt: 'b', sampling_percentage: 50 });
    let differ = 0;
    for (let i = 0; i < 200; i++) {
      const id = randomId(i);
      if (a.evaluate(trace([span()], id)) !== b.evaluate(trace([span()], id))) differ++;
    }
    expect(differ).to.be.greaterThan(50);
  });
});

describe('tail_sampling probabilistic hash in 16-bit limbs', () => {
  it('equals the bigint definition for hex ids, odd lengths, upper case, non-hex pairs and any salt', () => {
    const salts = ['', 'a', 'default-hash-seed', 'ünïcode salt', 'x'.repeat(300)];
    const ids = ['', '0', '61', 'ffffffffffffffffffffffffffffffff', '00000000000000000000000000000000', 'ABCDEF0123456789abcdef0123456789', 'abc', '0z12', 'zz', ' a1', '-a01', 'é1'];
    for (let i = 0; i < 300; i++) ids.push(randomId(i), randomId(i).slice(0, i % 33));
    for (const salt of salts) {
      for (const id of ids) {
        let expected: bigint | string;
        let actual: bigint | string;
        try {
          expected = hashTraceIdBigint(salt, id);
        } catch (e) {
          expected = `throws ${(e as Error).name}`;
        }
        try {
          actual = hashTraceId(salt, id);
        } catch (e) {
          actual = `throws ${(e as Error).name}`;
        }
        expect(actual, `${salt}/${id}`).to.equal(expected);
      }
    }
  });
});
