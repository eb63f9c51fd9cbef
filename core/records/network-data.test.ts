import { expect } from 'chai';
import { layoutMismatch, NETWORK_DATA_LAYOUT } from './network-data';

describe('network_data layout', () => {
  it('lays the fields end to end, in order, filling the meta size (as clang does)', () => {
    let end = 0;
    for (const f of NETWORK_DATA_LAYOUT.fields) {
      expect(f.offset, f.name).to.equal(end);
      end = f.offset + f.size;
    }
    expect(end).to.equal(NETWORK_DATA_LAYOUT.metaSize);
  });

  it('reads captures written before loop_tick had its name (the bytes were _pad0, always 0)', () => {
    const before = { ...NETWORK_DATA_LAYOUT, fields: NETWORK_DATA_LAYOUT.fields.map((f) => (f.name === 'loop_tick' ? { ...f, name: '_pad0' } : f)) };
    expect(layoutMismatch(before)).to.equal(undefined);
    const moved = { ...NETWORK_DATA_LAYOUT, fields: NETWORK_DATA_LAYOUT.fields.map((f) => (f.name === 'loop_tick' ? { ...f, offset: 106 } : f)) };
    expect(layoutMismatch(moved)).to.equal('field loop_tick at 106+2, expected 108+2');
  });
});
