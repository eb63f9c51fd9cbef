import { expect } from 'chai';
import { KeyValueCache } from './key-value-cache';
import { ProtoWriter } from './proto-writer';
import { writeKeyValues } from './write-trace';

const SPAN_ATTRIBUTES = (9 << 3) | 2;

/** What writeKeyValues writes for `attrs`. */
function encoded(attrs: Record<string, string | number | boolean>): Buffer {
  const w = new ProtoWriter();
  writeKeyValues(w, SPAN_ATTRIBUTES, attrs);
  return w.finish();
}

/** One pair through the cache: its cached bytes, or written (and kept) when it had none. */
function pair(cache: KeyValueCache, key: string, value: string | number): { hit: boolean; bytes: Buffer } {
  const known = cache.get(key, value);
  if (known) return { hit: true, bytes: Buffer.from(known) };
  const w = new ProtoWriter();
  w.shortKeyValue(SPAN_ATTRIBUTES, key, value);
  cache.keep(w, 1);
  return { hit: false, bytes: w.finish().subarray(1) };
}

describe('core/otlp KeyValueCache', () => {
  it('gives the bytes the writer wrote, for the same key and value only', () => {
    const cache = new KeyValueCache();
    const first = pair(cache, 'network.transport', 'tcp');
    expect(first.hit).to.equal(false);
    const again = pair(cache, 'network.transport', 'tcp');
    expect(again).to.deep.equal({ hit: true, bytes: first.bytes });
    expect(pair(cache, 'network.transport', 'udp').hit).to.equal(false);
    expect(pair(cache, 'server.port', 80).hit).to.equal(false);
    expect(pair(cache, 'server.port', '80').hit, 'a string is not the number').to.equal(false);
  });

  it("gives each value its own pair when a key's value changes back and forth", () => {
    const cache = new KeyValueCache();
    const written = new Map<string | number, Buffer>();
    for (const v of ['GET', 'POST', 'GET', 1, 'GET', 'POST', 1, '1']) {
      const p = pair(cache, 'http.request.method', v);
      if (!written.has(v)) written.set(v, p.bytes);
      expect(p.bytes, String(v)).to.deep.equal(written.get(v));
    }
    expect(new Set([...written.values()].map((b) => b.toString('hex'))).size).to.equal(4);
  });

  it('stops caching a key whose values do not repeat', () => {
    const cache = new KeyValueCache();
    for (let i = 0; i < 300; i++) pair(cache, 'espan.req_seq', 1_000_000 + i);
    pair(cache, 'espan.req_seq', 5);
    expect(pair(cache, 'espan.req_seq', 5).hit).to.equal(false);
    pair(cache, 'url.path', '/a');
    expect(pair(cache, 'url.path', '/a').hit).to.equal(true);
  });

  it('leaves writeKeyValues output as without it, the first time and from the cache', () => {
    const attrs = { 'http.request.method': 'GET', 'espan.req_seq': 3_555_569_178, big: 2 ** 52 + 1, 'espan.captured': true, text: 'é'.repeat(30), neg: -1, half: 0.5 };
    const first = encoded(attrs);
    expect(encoded(attrs)).to.deep.equal(first);
    expect(encoded({ 'http.request.method': 'GET' })).to.deep.equal(first.subarray(0, first.indexOf('espan.req_seq') - 4));
  });

  it('finds each key whether lists keep their keys in one order or change it', () => {
    const cache = new KeyValueCache();
    const orders = [
      ['network.transport', 'server.port', 'url.path'],
      ['network.transport', 'url.path', 'server.port'],
      ['url.path', 'network.transport'],
      ['network.transport', 'server.port', 'url.path'],
    ];
    const values: Record<string, string | number> = { 'network.transport': 'tcp', 'server.port': 8080, 'url.path': '/a' };
    const first = new Map<string, Buffer>();
    for (let round = 0; round < 2; round++) {
      for (const keys of orders) {
        cache.beginList();
        for (const k of keys) {
          const p = pair(cache, k, values[k]);
          if (!first.has(k)) first.set(k, p.bytes);
          expect(p.bytes, k).to.deep.equal(first.get(k));
          if (round > 0) expect(p.hit, k).to.equal(true);
        }
      }
    }
    cache.beginList();
    expect(pair(cache, 'network.transport', 'udp').hit).to.equal(false);
  });
});
