import { expect } from 'chai';
import { extract, extractMulti, extractSingle } from './b3';

// Examples from https://github.com/openzipkin/b3-propagation
const TRACE_128 = '80f198ee56343ba864fe8b2a57d3eff7';
const TRACE_64 = '463ac35c9f6413ad';
const SPAN = 'e457b5a2e4d86bd1';
const PARENT = '05e3ac9a4f6e3b90';

describe('b3 single header', () => {
  it('reads the full form', () => {
    expect(extractSingle({ b3: `${TRACE_128}-${SPAN}-1-${PARENT}` })).to.deep.equal({
      format: 'b3',
      traceId: TRACE_128,
      parentSpanId: SPAN,
      sampled: true,
      debug: false,
      senderParentSpanId: PARENT,
    });
  });

  it('pads a 64-bit trace id and leaves sampling open when absent', () => {
    const ctx = extractSingle({ b3: `${TRACE_64}-${SPAN}` });
    expect(ctx?.traceId).to.equal('0000000000000000' + TRACE_64);
    expect(ctx?.sampled).to.equal(undefined);
  });

  it('reads deny and debug', () => {
    expect(extractSingle({ b3: `${TRACE_128}-${SPAN}-0` })?.sampled).to.equal(false);
    const d = extractSingle({ b3: `${TRACE_128}-${SPAN}-d` });
    expect(d?.sampled).to.equal(true);
    expect(d?.debug).to.equal(true);
  });

  it('gives no context for the sampling-only forms or malformed values', () => {
    for (const v of ['0', '1', 'd', `${TRACE_128}`, `${TRACE_128}-${SPAN}-x`, `${TRACE_128}-${SPAN}-1-bad`, `${TRACE_128.slice(2)}-${SPAN}`, `${TRACE_128}-${SPAN}-1-${PARENT}-extra`, `${'0'.repeat(32)}-${SPAN}`, `${TRACE_128}-${'0'.repeat(16)}`]) {
      expect(extractSingle({ b3: v }), v).to.equal(undefined);
    }
  });
});

describe('b3 multi header', () => {
  it('reads X-B3-* whatever the case', () => {
    const ctx = extractMulti({ 'X-B3-TraceId': TRACE_128, 'X-B3-SpanId': SPAN, 'X-B3-ParentSpanId': PARENT, 'X-B3-Sampled': '1' });
    expect(ctx).to.deep.equal({ format: 'b3', traceId: TRACE_128, parentSpanId: SPAN, sampled: true, debug: false, senderParentSpanId: PARENT });
  });

  it('reads 64-bit ids, upper-case hex, and legacy true/false', () => {
    const ctx = extractMulti({ 'x-b3-traceid': TRACE_64.toUpperCase(), 'x-b3-spanid': SPAN, 'x-b3-sampled': 'false' });
    expect(ctx?.traceId).to.equal('0000000000000000' + TRACE_64);
    expect(ctx?.sampled).to.equal(false);
  });

  it('treats X-B3-Flags: 1 as debug and sampled', () => {
    const ctx = extractMulti({ 'x-b3-traceid': TRACE_128, 'x-b3-spanid': SPAN, 'x-b3-sampled': '0', 'x-b3-flags': '1' });
    expect(ctx?.sampled).to.equal(true);
    expect(ctx?.debug).to.equal(true);
  });

  it('rejects missing or malformed ids and sampling values', () => {
    expect(extractMulti({ 'x-b3-traceid': TRACE_128 })).to.equal(undefined);
    expect(extractMulti({ 'x-b3-spanid': SPAN })).to.equal(undefined);
    expect(extractMulti({ 'x-b3-traceid': 'xyz', 'x-b3-spanid': SPAN })).to.equal(undefined);
    expect(extractMulti({ 'x-b3-traceid': TRACE_128, 'x-b3-spanid': SPAN, 'x-b3-sampled': 'maybe' })).to.equal(undefined);
    expect(extractMulti({ 'x-b3-traceid': TRACE_128, 'x-b3-spanid': SPAN, 'x-b3-parentspanid': '12' })).to.equal(undefined);
  });

  it('prefers the single header', () => {
    const ctx = extract({ b3: `${TRACE_128}-${SPAN}-1`, 'x-b3-traceid': TRACE_64, 'x-b3-spanid': PARENT });
    expect(ctx?.traceId).to.equal(TRACE_128);
  });
});
