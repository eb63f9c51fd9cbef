import { expect } from 'chai';
import { decimalToHex64, extract } from './datadog';

describe('datadog extract', () => {
  it('reads a 64-bit context (decimal ids beyond 2^53)', () => {
    const ctx = extract({
      'x-datadog-trace-id': '18446744073709551615',
      'x-datadog-parent-id': '9007199254740993',
      'x-datadog-sampling-priority': '1',
      'x-datadog-origin': 'synthetics',
    });
    expect(ctx).to.deep.equal({
      format: 'datadog',
      traceId: '0000000000000000ffffffffffffffff',
      parentSpanId: '0020000000000001',
      is128Bit: false,
      priority: 1,
      sampled: true,
      origin: 'synthetics',
    });
  });

  it('takes the upper 64 bits from _dd.p.tid', () => {
    const ctx = extract({
      'X-Datadog-Trace-Id': '5208512171318403364',
      'X-Datadog-Parent-Id': '5208512171318403364',
      'X-Datadog-Tags': '_dd.p.dm=-0,_dd.p.tid=640cfd8d00000000',
    });
    expect(ctx?.traceId).to.equal('640cfd8d00000000' + (5208512171318403364n).toString(16).padStart(16, '0'));
    expect(ctx?.is128Bit).to.equal(true);
    expect(ctx?.sampled).to.equal(undefined);
  });

  it('ignores a malformed _dd.p.tid but keeps the lower 64 bits', () => {
    for (const tid of ['640CFD8D00000000', '640cfd8d', '0000000000000000', 'zz0cfd8d00000000']) {
      const ctx = extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-tags': `_dd.p.tid=${tid}` });
      expect(ctx?.traceId, tid).to.equal('00000000000000000000000000000001');
      expect(ctx?.is128Bit).to.equal(false);
    }
  });

  it('maps sampling priorities to decisions', () => {
    const prio = (p: string) => extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-sampling-priority': p });
    expect(prio('-1')?.sampled).to.equal(false);
    expect(prio('0')?.sampled).to.equal(false);
    expect(prio('2')?.sampled).to.equal(true);
    expect(prio('2')?.priority).to.equal(2);
    expect(prio('keep')?.sampled).to.equal(undefined);
  });

  it('accepts a missing parent id (synthetics/RUM start traces without one)', () => {
    const ctx = extract({ 'x-datadog-trace-id': '42', 'x-datadog-origin': 'rum' });
    expect(ctx?.traceId).to.equal('0000000000000000000000000000002a');
    expect(ctx?.parentSpanId).to.equal(undefined);
  });

  it('rejects bad ids', () => {
    for (const id of ['0', '-1', '18446744073709551616', '12ab', '', ' ', '0x10', '1.5']) {
      expect(extract({ 'x-datadog-trace-id': id, 'x-datadog-parent-id': '2' }), `trace ${id}`).to.equal(undefined);
      expect(extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': id }), `parent ${id}`).to.equal(undefined);
    }
    expect(extract({})).to.equal(undefined);
  });

  it('converts decimals exactly', () => {
    expect(decimalToHex64('1')).to.equal('0000000000000001');
    expect(decimalToHex64('9223372036854775808')).to.equal('8000000000000000');
  });
});
