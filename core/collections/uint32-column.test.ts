import { expect } from 'chai';
import { Uint32Column } from './uint32-column';

describe('Uint32Column', () => {
  it('gives back every value as it was given, 32-bit or not', () => {
    const values = [0, 1, 4294967294, 4294967295, 4294967296, -1, 1.5, NaN, 2n ** 64n, 5n, undefined, 123456789];
    const column = new Uint32Column(values.length);
    values.forEach((v, i) => column.set(i, v));
    values.forEach((v, i) => expect(column.get(i)).to.deep.equal(v));
    values.forEach((v, i) => expect(column.equals(i, v)).to.equal(!Number.isNaN(v)));
    expect(column.equals(9, 5)).to.equal(false);
    expect(column.equals(1, 1n)).to.equal(false);
    expect(column.equals(10, 0)).to.equal(false);
  });

  it('forgets a side value once the entry is set again or cleared, and keeps its values through a resize', () => {
    const column = new Uint32Column(2);
    column.set(0, 2n ** 40n);
    column.set(0, 7);
    expect(column.get(0)).to.equal(7);
    column.set(1, -3);
    column.clear(1);
    expect(column.equals(1, -3)).to.equal(false);
    column.resize(4);
    column.set(3, 9);
    expect([column.get(0), column.get(3)]).to.deep.equal([7, 9]);
  });
});
