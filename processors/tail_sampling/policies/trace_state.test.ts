import { expect } from 'chai';
import { span, trace } from '../testutil';
import { Decision } from './policy';
import { TraceState, traceStateValue } from './trace_state';

describe('tail_sampling trace_state', () => {
  it('parses W3C tracestate members', () => {
    expect(traceStateValue('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', 'congo')).to.equal('t61rcWkgMzE');
    expect(traceStateValue('rojo=1', 'congo')).to.equal(undefined);
    expect(traceStateValue('garbage', 'congo')).to.equal(undefined);
  });

  it('samples when a span carries key with one of the values', () => {
    const p = new TraceState({ key: 'key3', values: ['value1', 'value2'] });
    expect(p.evaluate(trace([span(), span({ traceState: 'a=b,key3=value2' })]))).to.equal(Decision.Sampled);
    expect(p.evaluate(trace([span({ traceState: 'key3=value3' })]))).to.equal(Decision.NotSampled);
    expect(p.evaluate(trace([span()]))).to.equal(Decision.NotSampled);
  });
});
