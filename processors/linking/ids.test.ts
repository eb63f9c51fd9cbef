import { expect } from 'chai';
import { traceIdFrom } from './ids';

describe('linking trace ids', () => {
  it('keep their values: the same capture gives the same trace ids', () => {
    expect(traceIdFrom('00f067aa0ba902b7|1700000000000000000')).to.equal('52f1eb6fd5d13a12125a1deff81b1cc6');
    expect(traceIdFrom('')).to.equal('027ae52ecfc796215593990d4b41437c');
  });
});
