import { expect } from 'chai';
import { clientCall, HOST, serverRequest } from '../test/spans/messages';
import { spanIdOf, threadTraceIdOf } from './message-ids';

describe('derived ids', () => {
  it('are stable for the same message and differ for different ones', () => {
    const m = serverRequest(7, 123_456_789_012_345, 123_456_789_112_345, { reqSeq: 4_000_000_000 });
    expect(threadTraceIdOf(m)).to.match(/^[0-9a-f]{32}$/);
    expect(spanIdOf(m)).to.match(/^[0-9a-f]{16}$/);
    expect(threadTraceIdOf({ ...m })).to.equal(threadTraceIdOf(m));
    expect(spanIdOf({ ...m, host: { ...HOST } })).to.equal(spanIdOf(m));
    expect(threadTraceIdOf({ ...m, tid: 8 })).to.not.equal(threadTraceIdOf(m));
    expect(threadTraceIdOf({ ...m, reqStart: m.reqStart + 1 })).to.not.equal(threadTraceIdOf(m));
    expect(threadTraceIdOf({ ...m, host: { ...HOST, hostId: 'other' } })).to.not.equal(threadTraceIdOf(m));
    expect(spanIdOf({ ...m, role: 'client' })).to.not.equal(spanIdOf(m));
    expect(spanIdOf({ ...m, connId: m.connId + 'x' })).to.not.equal(spanIdOf(m));
  });

  it('keep their values: the same capture gives the same ids', () => {
    const m = serverRequest(7, 123_456_789_012_345, 123_456_789_112_345, { reqSeq: 4_000_000_000, connId: 'conn-1', pid: 4242 });
    const c = clientCall(9, 5_000_000_000, 5_000_100_000, { reqSeq: 17, connId: '10.0.0.1:5000-10.0.0.2:80', host: { ...HOST, hostId: 'host-b' } });
    expect(threadTraceIdOf(m)).to.equal('ed87866f10179a8cbd4282a074708393');
    expect(spanIdOf(m)).to.equal('f34a1a96b70b0903');
    expect(spanIdOf(c)).to.equal('f3548156946b32ca');
  });

  it('do not collide over many near-identical messages', () => {
    const spanIds = new Set<string>();
    const traceIds = new Set<string>();
    const base = serverRequest(1, 0, 1);
    for (let i = 0; i < 100_000; i++) {
      const m = { ...base, tid: i % 97, reqSeq: i, reqStart: i * 1000, connId: `conn-${i % 13}` };
      spanIds.add(spanIdOf(m));
      traceIds.add(threadTraceIdOf(m));
    }
    expect(spanIds.size).to.equal(100_000);
    expect(traceIds.size).to.equal(100_000);
  });
});
