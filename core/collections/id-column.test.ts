import { expect } from 'chai';
import { IdColumn } from './id-column';

describe('IdColumn', () => {
  it('gives back every id as it was given, packed or not', () => {
    const ids = ['52f1eb6fd5d13a12125a1deff81b1cc6', '00000000000000000000000000000001', '52F1EB6FD5D13A12125A1DEFF81B1CC6', 'short', '', 't0', '52f1eb6fd5d13a12125a1deff81b1cc'];
    const column = new IdColumn(32, ids.length + 1);
    ids.forEach((id, i) => column.set(i, id));
    column.set(ids.length, undefined);
    ids.forEach((id, i) => expect(column.get(i)).to.equal(id));
    expect(column.get(ids.length)).to.equal(undefined);
  });

  it('keeps as text an id with a character past 127 whose low bits read as a hex digit', () => {
    // \u0136 and \u00b5 end in the bits of '6' and '5'
    const ids = ['52f1eb6fd5d13a12125a1deff81b1c\u0136', '\u00b52f1eb6fd5d13a1'];
    const column = new IdColumn(32, 2);
    column.set(0, ids[0]);
    expect(column.get(0)).to.equal(ids[0]);
    expect(column.equals(0, '52f1eb6fd5d13a12125a1deff81b1c66')).to.equal(false);
    const spans = new IdColumn(16, 1);
    spans.set(0, ids[1]);
    expect(spans.get(0)).to.equal(ids[1]);
    expect(spans.equals(0, '552f1eb6fd5d13a1')).to.equal(false);
  });

  it('compares ids exactly: case and length count', () => {
    const column = new IdColumn(16, 3);
    column.set(0, '00f067aa0ba902b7');
    column.set(1, 'not-hex');
    column.set(2, undefined);
    expect(column.equals(0, '00f067aa0ba902b7')).to.equal(true);
    expect(column.equals(0, '00F067AA0BA902B7')).to.equal(false);
    expect(column.equals(0, '00f067aa0ba902b')).to.equal(false);
    expect(column.equals(0, '00f067aa0ba902b8')).to.equal(false);
    expect(column.equals(1, 'not-hex')).to.equal(true);
    expect(column.equals(2, '')).to.equal(false);
    // a packed id written over a text one
    column.set(1, 'ffffffffffffffff');
    expect(column.get(1)).to.equal('ffffffffffffffff');
    expect(column.equals(1, 'not-hex')).to.equal(false);
  });

  it('keeps the all-zero id apart from no id', () => {
    const zeros = '0'.repeat(32);
    const column = new IdColumn(32, 3);
    column.set(0, zeros);
    column.set(1, undefined);
    column.set(2, '52f1eb6fd5d13a12125a1deff81b1cc6');
    column.set(2, undefined);
    expect([column.get(0), column.get(1), column.get(2)]).to.deep.equal([zeros, undefined, undefined]);
    expect([column.equals(0, zeros), column.equals(1, zeros), column.equals(2, zeros)]).to.deep.equal([true, false, false]);
    expect(column.equals(2, '52f1eb6fd5d13a12125a1deff81b1cc6')).to.equal(false);
    column.set(0, '52f1eb6fd5d13a12125a1deff81b1cc6');
    expect([column.get(0), column.equals(0, zeros)]).to.deep.equal(['52f1eb6fd5d13a12125a1deff81b1cc6', false]);
  });

  it('gives back ids reused from the two packed last, across columns of both widths', () => {
    const a = '52f1eb6fd5d13a12125a1deff81b1cc6';
    const b = '00000000000000000000000000000001';
    const c = 'ffffffffffffffffffffffffffffffff';
    const traces = new IdColumn(32, 9);
    const keys = new IdColumn(32, 9);
    const spans = new IdColumn(16, 9);
    const order: Array<[IdColumn, string]> = [[traces, a], [keys, b], [spans, '00f067aa0ba902b7'], [traces, a], [keys, c], [traces, b], [traces, a], [keys, b], [traces, c]];
    order.forEach(([column, id], i) => column.set(i, id));
    order.forEach(([column, id], i) => expect(column.get(i)).to.equal(id));
  });
});
