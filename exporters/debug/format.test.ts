import { expect } from 'chai';
import { traceTree } from './format';
import { renderBatch } from './factory';
import { sampleTrace } from '../../test/helpers/spans';
import { syntheticRecords } from '../../test/helpers/records';
import { clientCall } from '../../test/spans/messages';

describe('debug exporter rendering', () => {
  it('prints a trace as an indented tree with durations, children by start time', () => {
    const spans = sampleTrace().reverse();
    expect(traceTree({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spans })).to.deep.equal([
      'Trace 4bf92f3577b34da6a3ce929d0e0e4736 (4 spans, 12.30ms)',
      '└─ SERVER GET /users  12.30ms  [front]  http.request.method="GET" http.response.status_code=200',
      '   ├─ CLIENT GET  8.00ms  [front]',
      '   │  └─ SERVER GET /users/1  6.00ms  [back] ERROR(boom)',
      '   └─ CLIENT GET  500.0µs  [front]  db.system.name="redis"',
    ]);
  });

  it('summarises at basic verbosity and prints one line per item at normal', () => {
    const records = syntheticRecords(3);
    expect(renderBatch(records, 'records', 'basic')).to.deep.equal(['records: 3 items']);
    const lines = renderBatch(records, 'records', 'normal');
    expect(lines).to.have.length(3);
    expect(lines[0]).to.match(/^record (read|write) pid=1000 tid=\d+ comm=svc-\d fd=\d+ /);
    expect(renderBatch([{ traceId: 't', spans: sampleTrace() }], 'traces', 'basic')).to.deep.equal(['traces: 4 spans in 1 traces']);
  });

  it('dumps payload bytes at detailed verbosity', () => {
    const [r] = syntheticRecords(1);
    const [text] = renderBatch([r], 'records', 'detailed');
    expect(text.split('\n')[1]).to.match(/^ {4}0000 {2}([0-9a-f]{2} ){15}[0-9a-f]{2} {2}/);
  });

  it('masks credential headers in payload dumps and sensitive query values in messages', () => {
    const [r] = syntheticRecords(1);
    const payload = Buffer.from('GET /?token=t0k HTTP/1.1\r\nAuthorization: Basic c2VjcmV0\r\ncookie:sid=abc\r\nAccept: */*\r\n\r\n', 'latin1');
    const [dump] = renderBatch([{ ...r, payload, actSize: payload.length, bufLen: payload.length }], 'records', 'detailed');
    for (const secret of ['c2Vj', 'sid=']) expect(dump).to.not.include(secret);
    expect(dump).to.include('Accept');
    const m = clientCall(1, 10, 20, { http: { method: 'GET', target: '/v1/pay?sig=abc&x=1', path: '/v1/pay', query: 'sig=abc&x=1', version: '1.1', headers: {}, status: 200 } });
    const [line] = renderBatch([m], 'messages', 'normal');
    expect(line).to.include('GET /v1/pay?sig=REDACTED&x=1 -> 200');
  });
});
