import { expect } from 'chai';
import { AlwaysSample } from './always_sample';
import { Decision } from './policy';

describe('tail_sampling always_sample', () => {
  it('samples every trace', () => {
    expect(new AlwaysSample().evaluate()).to.equal(Decision.Sampled);
  });
});
