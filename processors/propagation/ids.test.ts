import { expect } from 'chai';
import { hexDigit, hexId } from './ids';

describe('propagation ids', () => {
  it('spells lower-case hex digits again, left-padded to the width asked', () => {
    expect(hexId('x-4bf92f3577b34da6a3ce929d0e0e4736', 2, 32, 32)).to.equal('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(hexId('00f067aa0ba902b7', 0, 16, 16)).to.equal('00f067aa0ba902b7');
    expect(hexId('ffffffffffffffff', 0, 16, 32)).to.equal('0000000000000000ffffffffffffffff');
  });

  it('refuses any other character, upper-case digits and a value too short', () => {
    for (const v of ['00F067aa0ba902b7', '00f067aa0ba902bg', '00f067aa0ba902b', '00f067aa0ba902b\u0100', ' 0f067aa0ba902b7']) {
      expect(hexId(v, 0, 16, 16), v).to.equal(undefined);
    }
    expect([hexDigit('a', 0), hexDigit('A', 0), hexDigit('', 0), hexDigit('é', 0)]).to.deep.equal([10, -1, -1, -1]);
  });
});
