import { expect } from 'chai';
import { calmAfter } from './heap-settings';

describe('core/heap-settings', () => {
  it('counts espan calm under 30 % of a core and busy again only over 50 %, so that its own collections do not switch it back and forth', () => {
    expect(calmAfter(false, 0.1)).to.equal(true);
    expect(calmAfter(false, 0.4)).to.equal(false);
    expect(calmAfter(true, 0.4)).to.equal(true);
    expect(calmAfter(true, 0.6)).to.equal(false);
    expect(calmAfter(false, 1.5)).to.equal(false);
  });

  it('takes other bounds where given', () => {
    const bounds = { calmBelow: 0.15, busyAbove: 0.2 };
    expect(calmAfter(true, 0.18, bounds)).to.equal(true);
    expect(calmAfter(true, 0.25, bounds)).to.equal(false);
    expect(calmAfter(false, 0.18, bounds)).to.equal(false);
    expect(calmAfter(false, 0.1, bounds)).to.equal(true);
  });
});
