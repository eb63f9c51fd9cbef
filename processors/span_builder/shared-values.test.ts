import { expect } from 'chai';
import { spanIdOf } from '../../core/message-ids';
import { connectionKey } from '../../core/semconv';
import { message } from '../../test/spans/messages';
import { ConnectionKeys, Memo, RedactedQueries, SharedNumbers, SpanIds } from './shared-values';

describe('span_builder shared values', () => {
  it('gives both ends of a connection the one key, and tells connections whose ports share a slot apart', () => {
    const keys = new ConnectionKeys();
    const client = message({ role: 'client', tid: 1, reqStart: 0, saddr: '10.0.0.1', sport: 40001, daddr: '10.0.0.2', dport: 6379 });
    const server = message({ role: 'server', tid: 2, reqStart: 0, saddr: '10.0.0.2', sport: 6379, daddr: '10.0.0.1', dport: 40001 });
    const key = keys.of(client);
    expect(key).to.equal(connectionKey('10.0.0.1', 40001, '10.0.0.2', 6379));
    expect(keys.of(server)).to.equal(key);
    // the same ports between other addresses: the same slot, another key
    const other = message({ role: 'client', tid: 3, reqStart: 0, saddr: '10.0.0.3', sport: 40001, daddr: '10.0.0.2', dport: 6379 });
    expect(keys.of(other)).to.equal(connectionKey('10.0.0.3', 40001, '10.0.0.2', 6379));
    expect(keys.of(client)).to.equal(key);
  });

  it("gives each end of a connection its span ids, whatever else took the slot between its requests", () => {
    const ids = new SpanIds();
    const client = message({ role: 'client', tid: 1, reqStart: 1_000, connId: 'c-1', saddr: '10.0.0.1', sport: 40001, daddr: '10.0.0.2', dport: 6379 });
    const server = message({ role: 'server', tid: 2, reqStart: 2_000, connId: 's-1', saddr: '10.0.0.2', sport: 6379, daddr: '10.0.0.1', dport: 40001 });
    // the same ports (the same slot): another connection, another host
    const other = message({ role: 'client', tid: 3, reqStart: 1_000, connId: 'c-2', saddr: '10.0.0.3', sport: 40001, daddr: '10.0.0.2', dport: 6379 });
    const elsewhere = { ...client, host: { ...client.host, hostId: 'host-b' } };
    const requests = [client, server, other, elsewhere, { ...client, reqSeq: client.reqSeq + 100, reqStart: 9_000 }, server, client];
    for (const m of requests) expect(ids.of(m)).to.equal(spanIdOf(m));
    expect(new Set(requests.map((m) => ids.of(m))).size).to.equal(5);
  });

  it('redacts a query with the sensitive names it is asked with', () => {
    const queries = new RedactedQueries();
    const token = new Set(['token']);
    const user = new Set(['user']);
    const query = 'user=3&token=abc';
    expect(queries.of(query, token)).to.equal('user=3&token=REDACTED');
    expect(queries.of(query, user)).to.equal('user=REDACTED&token=abc');
    expect(queries.of(query, token)).to.equal('user=3&token=REDACTED');
    expect(queries.of('', token)).to.equal('');
  });

  it('makes a value once per key while it is remembered', () => {
    let made = 0;
    const lengths = new Memo(2, (s) => (made++, s.length));
    expect([lengths.of('ab'), lengths.of('ab'), lengths.of('abc')]).to.deep.equal([2, 2, 3]);
    expect(made).to.equal(2);
    lengths.of('abcd'); // past the bound: starts over
    lengths.of('ab');
    expect(made).to.equal(4);
  });

  it('gives every number back as it was, whatever was seen before in its slot', () => {
    const numbers = new SharedNumbers();
    const seen = [0, -0, 1, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 4026531840, -(2 ** 31) - 1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER];
    // every slot taken and taken again: the table holds 4096
    for (let i = 0; i < 20_000; i++) seen.push(2 ** 31 + ((i * 2654435761) % 2 ** 31));
    for (const round of [1, 2]) for (const n of seen) expect(Object.is(numbers.of(n), n), `${n} (round ${round})`).to.equal(true);
  });
});

describe('connection keys', () => {
  it('sorts the endpoints as their texts sort, one address a prefix of the other or not', () => {
    const reference = (a: string, aPort: number, b: string, bPort: number): string => {
      const x = `${a}:${aPort}`;
      const y = `${b}:${bPort}`;
      return x < y ? `${x}-${y}` : `${y}-${x}`;
    };
    const addresses = ['10.0.0.1', '10.0.0.12', '10.0.0.2', '127.0.0.1', '::1', '::ffff:10.0.0.1', 'fd00::7', 'fd00::70'];
    const ports = [0, 1, 4, 8, 9, 10, 40, 44, 80, 99, 100, 443, 444, 4430, 8080, 6379, 9999, 10000, 39667, 65535];
    for (const a of addresses) for (const b of addresses) for (const p of ports) for (const q of ports) {
      expect(connectionKey(a, p, b, q)).to.equal(reference(a, p, b, q));
    }
  });

  it('spells any address and number as their texts', () => {
    const reference = (a: string, aPort: number, b: string, bPort: number): string => {
      const x = `${a}:${aPort}`;
      const y = `${b}:${bPort}`;
      return x < y ? `${x}-${y}` : `${y}-${x}`;
    };
    const long = 'fd00:1111:2222:3333:4444:5555:6666:7777'.repeat(3);
    for (const [a, b] of [['é.local', '10.0.0.1'], ['10.0.0.1', '端点'], [long, long.slice(1)], ['::ffff:255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255']]) {
      for (const [p, q] of [[80, 443], [-1, 80], [70000, 7], [1.5, 15], [NaN, 0], [65535, 65535]]) {
        expect(connectionKey(a, p, b, q)).to.equal(reference(a, p, b, q));
        expect(connectionKey(b, q, a, p)).to.equal(reference(a, p, b, q));
      }
    }
  });
});
