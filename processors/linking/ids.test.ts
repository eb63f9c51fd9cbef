import { expect } from 'chai';
import { rootTraceId, traceIdFrom, writeNumberText } from './ids';

describe('linking trace ids', () => {
  it('keep their values: the same capture gives the same trace ids', () => {
    expect(traceIdFrom('00f067aa0ba902b7|1700000000000000000')).to.equal('52f1eb6fd5d13a12125a1deff81b1cc6');
    expect(traceIdFrom('')).to.equal('027ae52ecfc796215593990d4b41437c');
    expect(rootTraceId('00f067aa0ba902b7', 1700000000000000000)).to.equal('52f1eb6fd5d13a12125a1deff81b1cc6');
  });

  it('of a root span are those of its span id and start as text', () => {
    for (const [spanId, start] of [['00f067aa0ba902b7', Number(1796285272651727755n)], ['', 2 ** 60], ['x'.repeat(65), 1.7e18], ['ab', 1.5], ['c', -1], [undefined as unknown as string, 1.7e18]] as const) {
      expect(rootTraceId(spanId, start)).to.equal(traceIdFrom(`${spanId}|${start}`));
    }
  });

  it('spell a start as String does', () => {
    const out = new Uint16Array(40);
    const text = (x: number) => String.fromCharCode(...out.subarray(2, writeNumberText(x, out, 2)));
    const values = [0, 1, 1.5, -1e18, NaN, Infinity, 5e-324, 1.7976931348623157e308, 2 ** 53, 2 ** 62 - 1024, 2 ** 62, 1e18, 1e18 + 128];
    // random starts, and values an ulp or half an ulp (a tie) around multiples of 10^k, where the shortest spelling changes
    let seed = 1;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let e = 53; e < 62; e++) {
      const ulp = 2 ** (e - 52);
      for (let i = 0; i < 600; i++) {
        const p = 10 ** (1 + (i % 12));
        const m = Number(BigInt(Math.round((2 ** e * (1 + random())) / p)) * BigInt(p));
        for (let d = -2; d <= 2; d++) values.push(m + d * ulp, Number(BigInt(m) + BigInt((d * ulp) / 2)));
      }
    }
    for (const x of values) expect(text(x), `${x}`).to.equal(String(x));
  });

  it('spell starts that follow one another as String does, across a second and a power of two', () => {
    const out = new Uint16Array(40);
    const text = (x: number) => String.fromCharCode(...out.subarray(0, writeNumberText(x, out)));
    // 2^59 to 2^60 spaced 128 apart, 256 above
    for (const edge of [1.7e18, 2 ** 60, 1e18]) {
      for (let d = -32; d < 32; d++) {
        const x = edge + d * 128;
        expect(text(x), `${x}`).to.equal(String(x));
      }
    }
  });
});
