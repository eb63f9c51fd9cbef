import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { crc32, crc32Tables } from './crc32';

describe('crc32', () => {
  it('the tables give the IEEE check value', () => {
    expect(crc32Tables(Buffer.from('123456789'))).to.equal(0xcbf43926);
    expect(crc32Tables(Buffer.alloc(0))).to.equal(0);
  });

  it('the tables and crc32 agree with zlib on every length and alignment', function () {
    const native = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
    if (!native) this.skip();
    const buf = randomBytes(2048);
    for (let start = 0; start < 9; start++) {
      for (let len = 0; len < 600; len += start + 1) {
        const want = native(buf.subarray(start, start + len));
        expect(crc32Tables(buf, start, start + len), `${start}+${len}`).to.equal(want);
        expect(crc32(buf, start, start + len), `${start}+${len}`).to.equal(want);
      }
    }
  });

  it('reads a view into a larger buffer from its own offset', () => {
    const whole = randomBytes(1024);
    for (const offset of [1, 3, 8, 13]) {
      const part = whole.subarray(offset, offset + 300);
      expect(crc32Tables(part), String(offset)).to.equal(crc32Tables(Buffer.from(part)));
      expect(crc32Tables(part, 5, 250), String(offset)).to.equal(crc32Tables(Buffer.from(part.subarray(5, 250))));
    }
  });
});
