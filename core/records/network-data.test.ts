import { expect } from 'chai';
import { NETWORK_DATA_LAYOUT } from './network-data';

describe('network_data layout', () => {
  it('lays the fields end to end, in order, filling the meta size (as clang does)', () => {
    let end = 0;
    for (const f of NETWORK_DATA_LAYOUT.fields) {
      expect(f.offset, f.name).to.equal(end);
      end = f.offset + f.size;
    }
    expect(end).to.equal(NETWORK_DATA_LAYOUT.metaSize);
  });
});
