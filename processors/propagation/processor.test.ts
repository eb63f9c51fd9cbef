import { expect } from 'chai';
import { runOperatorItems } from '../../test/helpers/sink';
import type { L7Message } from '../../core/signals';
import { extract } from './index';
import { extractPropagation } from './processor';

function httpMessage(headers: Record<string, string>): L7Message {
  return {
    protocol: 'http', role: 'server', pid: 1, tid: 1, comm: 'x', connId: 'c', saddr: '127.0.0.1', sport: 80, daddr: '127.0.0.1', dport: 5000,
    netns: 0, connMeta: 0, host: { hostId: 'h', hostName: 'h', bootTimeUnixNano: 0n }, reqStart: 1, reqEnd: 2, reqSeq: 1, outcome: 'ok',
    respStart: undefined, respEnd: undefined, respSeq: undefined, respTid: undefined, utid: 0, respUtid: 0, reqTick: 0, respTick: 0,
    http: { method: 'GET', target: '/', path: '/', version: '1.1', headers },
    redis: undefined, mysql: undefined, grpc: undefined, postgresql: undefined, threadTraceId: undefined, propagation: undefined,
  };
}

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('propagation processor', () => {
  it('attaches the first valid context in precedence order', async () => {
    const both = { traceparent: TP, 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2' };
    expect(extract(both)?.format).to.equal('w3c');
    expect(extract(both, ['datadog', 'tracecontext'])?.format).to.equal('datadog');
    expect(extract({ traceparent: 'bad', 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2' })?.format).to.equal('datadog');
  });

  it('sets message.propagation and counts', async () => {
    const counts: Record<string, number> = {};
    const out = await runOperatorItems(
      extractPropagation(['tracecontext', 'datadog', 'b3'], { extracted: (f) => (counts[f] = (counts[f] ?? 0) + 1), invalid: () => (counts.invalid = (counts.invalid ?? 0) + 1) }),
      [[httpMessage({ traceparent: TP }), httpMessage({ 'x-request-id': 'r' })], [httpMessage({ traceparent: 'garbage' })]],
    );
    expect(out[0].propagation?.traceId).to.equal('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(out[0].propagation?.sampled).to.equal(true);
    expect(out[1].propagation).to.equal(undefined);
    expect(out[2].propagation).to.equal(undefined);
    expect(counts).to.deep.equal({ w3c: 1, invalid: 1 });
  });
});
