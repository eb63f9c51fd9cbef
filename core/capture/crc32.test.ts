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
});
