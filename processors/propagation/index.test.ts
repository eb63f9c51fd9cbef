import { expect } from 'chai';
import fc from 'fast-check';
import { extract, extractTraceId, PROPAGATORS } from './index';

describe('propagation extractTraceId', () => {
  it("gives extract()'s trace id, for every order of the propagators, valid and invalid headers of each format", () => {
    const some = <T>(values: T[]) => fc.option(fc.constantFrom(...values), { nil: undefined });
    const headers = fc.record({
      traceparent: some([
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        ' 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ',
        '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
        '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
        'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
        'bad',
      ]),
      // an invalid tracestate is dropped, the traceparent still counts
      tracestate: some(['rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', 'a=1,a=2', 'BAD KEY=1', '']),
      'x-datadog-trace-id': some(['1', '18446744073709551615', '18446744073709551616', 'x']),
      'x-datadog-parent-id': some(['2', 'y']),
      'x-datadog-tags': some(['_dd.p.tid=640cfd8d00000000', '_dd.p.tid=zz']),
      b3: some(['80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1', 'a3ce929d0e0e4736-00f067aa0ba902b7', '0', 'bad-id']),
      'x-b3-traceid': some(['463ac35c9f6413ad48485a3953bb6124', 'a3ce929d0e0e4736', 'zz']),
      'x-b3-spanid': some(['a2fb4a1d1a96d312', 'zz']),
    });
    const order = fc.shuffledSubarray([...PROPAGATORS]);
    fc.assert(
      fc.property(headers, order, (h, o) => {
        const defined = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>;
        expect(extractTraceId(defined, o)).to.equal(extract(defined, o)?.traceId);
        expect(extractTraceId(defined)).to.equal(extract(defined)?.traceId);
      }),
      { numRuns: 2000 },
    );
  });
});
