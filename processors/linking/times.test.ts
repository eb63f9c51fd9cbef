import { expect } from 'chai';
import { nsNumber } from './times';

describe('linking span times', () => {
  it('are the doubles Number() gives, rounded alike', () => {
    const values = [0n, 1n, 2n ** 53n + 1n, 2n ** 60n + 128n, 2n ** 60n + 384n, 1796285272651727755n, 2n ** 63n + 12345n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 70n, -1n, -(2n ** 62n)];
    let seed = 3;
    const word = () => BigInt((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0));
    for (let i = 0; i < 10_000; i++) values.push((word() << 32n) | word());
    for (const v of values) expect(nsNumber(v), `${v}`).to.equal(Number(v));
    expect(nsNumber(5 as unknown as bigint)).to.equal(5);
  });
});
