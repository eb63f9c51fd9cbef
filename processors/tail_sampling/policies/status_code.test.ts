import { expect } from 'chai';
import { StatusCode } from '../../../core/signals';
import { span, trace } from '../testutil';
import { Decision } from './policy';
import { StatusCodeFilter } from './status_code';

describe('tail_sampling status_code', () => {
  it('samples when any span has one of the codes', () => {
    const p = new StatusCodeFilter({ status_codes: ['ERROR'] });
    expect(p.evaluate(trace([span(), span({ status: { code: StatusCode.ERROR } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span(), span({ status: { code: StatusCode.OK } })]))).to.equal(Decision.NotSampled);
  });

  it('UNSET is a code like the others', () => {
    const p = new StatusCodeFilter({ status_codes: ['ERROR', 'UNSET'] });
    expect(p.evaluate(trace([span({ status: { code: StatusCode.UNSET } })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ status: { code: StatusCode.OK } })]))).to.equal(Decision.NotSampled);
  });
});
