import { expect } from 'chai';
import fc from 'fast-check';
import type { AttributeValue, Attributes } from '../signals';
import { PreviousAttributes, RecentAttributes, type PairWriter } from './previous-attributes';
import { ProtoWriter } from './proto-writer';
import { writeKeyValues } from './write-trace';

const SPAN_ATTRIBUTES = (9 << 3) | 2;

/** What writeKeyValues writes for `attrs` on their own: the bytes PreviousAttributes must write too. */
function plain(attrs: Attributes): Buffer {
  const w = new ProtoWriter();
  writeKeyValues(w, SPAN_ATTRIBUTES, attrs);
  return w.finish();
}

const writePair: PairWriter = (w, key, v) => writeKeyValues(w, SPAN_ATTRIBUTES, { [key]: v });

/** Writes the lists one after another into one writer, as write-trace does for a request's spans; checks each list's bytes. */
function expectListsAsPlain(lists: Attributes[]): { over: number } {
  const w = new ProtoWriter();
  const previous = new PreviousAttributes();
  let over = 0;
  for (const [i, attrs] of lists.entries()) {
    const at = w.pos;
    if (previous.writeOver(w, attrs, writePair)) over++;
    else previous.writeAll(w, attrs, writePair);
    expect(w.copy(at), `list ${i}: ${JSON.stringify(attrs, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`).to.deep.equal(new Uint8Array(plain(attrs)));
  }
  return { over };
}

const span = (seq: number, tid: string, port: number, extra: Attributes = {}): Attributes => ({
  'espan.captured': true,
  'espan.conn_key': `127.0.0.1:80-127.0.0.1:${port}`,
  'espan.req_seq': seq,
  'http.request.method': 'GET',
  'url.path': '/',
  'network.peer.port': port,
  'espan.thread_trace_id': tid,
  ...extra,
});

describe('core/otlp PreviousAttributes', () => {
  it('writes lists with the keys of the list before over its bytes, as they would be written on their own', () => {
    const { over } = expectListsAsPlain([
      span(1, 'a'.repeat(32), 50000),
      span(2, 'b'.repeat(32), 50001), // same widths: values written over the copy
      span(2 ** 31 + 5, 'c'.repeat(32), 50001), // a wider varint: written on its own
      span(2 ** 32 + 7, 'd'.repeat(32), 443), // wider again, and a narrower port
      span(3, 'é'.repeat(32), 443), // same length, not ASCII: written on its own
      span(4, 'f'.repeat(32), 443), // same length after a non-ASCII one
      span(5, 'f'.repeat(31), 443), // shorter
      span(6, 'g'.repeat(31), 443),
    ]);
    expect(over).to.equal(7);
  });

  it('writes booleans, nothing, doubles, negatives, bigints, bytes and arrays as on their own', () => {
    // undefined and null as values that are left out, as processors may leave them
    const none = (v: undefined | null) => v as unknown as AttributeValue;
    const bytes = new Uint8Array([1, 2, 3]);
    const list = [1, 2];
    expectListsAsPlain([
      { a: true, b: none(undefined), c: 1.5, d: -1, e: 5n, f: bytes, g: list, h: none(null), i: 0 },
      { a: false, b: 'now', c: 2.5, d: -2, e: 6n, f: bytes, g: list, h: 7, i: -0 },
      { a: true, b: none(undefined), c: NaN, d: -2, e: 6n, f: bytes, g: list, h: none(undefined), i: 0 },
      { a: 1, b: 'x', c: NaN, d: 2 ** 53, e: 'five', f: new Uint8Array([9]), g: [3], h: false, i: 'i' },
    ]);
    // arrays and bytes are written again even when the same object: it may have changed
    bytes[0] = 7;
    list.push(3);
    expectListsAsPlain([
      { f: bytes, g: list },
      { f: bytes, g: list },
    ]);
  });

  it('writes on their own lists whose keys differ from the list before, in order or number', () => {
    const { over } = expectListsAsPlain([{ a: 1, b: 2 }, { b: 2, a: 1 }, { b: 2, a: 1, c: 3 }, { b: 2 }, { b: 3 }]);
    expect(over).to.equal(1);
    // once written over, a list's keys are compared by a function compiled for them (change-finder.ts)
    const compiled = expectListsAsPlain([{ a: 1, b: 2 }, { a: 1, b: 3 }, { a: 1, b: 4 }, { a: 1, b: 4, c: 3 }, { a: 1, b: 2 }, { b: 2, a: 1 }, { a: 1 }]);
    expect(compiled.over).to.equal(2);
  });

  it('copies nothing from bytes the writer gave out, or from another writer', () => {
    const w = new ProtoWriter();
    const previous = new PreviousAttributes();
    previous.writeAll(w, { a: 1 }, writePair);
    w.finish();
    expect(previous.writeOver(w, { a: 1 }, writePair)).to.equal(false);
    // nor from another writer's
    previous.writeAll(w, { a: 1 }, writePair);
    expect(previous.writeOver(new ProtoWriter(), { a: 1 }, writePair)).to.equal(false);
  });

  it('keeps a list per key sequence for interleaved kinds of spans', () => {
    const w = new ProtoWriter();
    const recent = new RecentAttributes();
    const kinds = [(n: number) => span(n, 'a'.repeat(32), 80), (n: number) => ({ 'db.system': 'redis', n }), (n: number) => ({ n, 'db.system': 'mysql' })];
    for (let n = 0; n < 30; n++) {
      const attrs = kinds[n % 3](n) as Attributes;
      const at = w.pos;
      recent.write(w, attrs, writePair);
      expect(w.copy(at), `list ${n}`).to.deep.equal(new Uint8Array(plain(attrs)));
    }
  });

  it('holds for values of another width in pairs near the one-byte length bound', () => {
    // keys of 110-126 characters: a pair's KeyValue length crosses 127 as its value grows
    const value = fc.oneof(
      fc.constantFrom<AttributeValue>(0, 127, 128, 16384, 2 ** 28, 2 ** 35, 2 ** 53 - 1, -1, 1.5, true, '', 'a', 'é', 'abcdefgh', 'x'.repeat(40), 'y'.repeat(126)),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.string({ maxLength: 8 }),
    );
    const lengths = fc.array(fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 110, max: 126 })), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(lengths, fc.array(fc.array(value, { minLength: 5, maxLength: 5 }), { minLength: 2, maxLength: 10 }), (ls, rows) => {
        const keys = ls.map((n, i) => String.fromCharCode(97 + i) + 'k'.repeat(n));
        expectListsAsPlain(rows.map((row) => Object.fromEntries(keys.map((k, i) => [k, row[i]])) as Attributes));
      }),
      { numRuns: 500 },
    );
  });

  it('holds for random lists of few keys and values', () => {
    const value = fc.oneof(
      fc.constantFrom<AttributeValue | undefined | null>(undefined, null, true, false, 0, -0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32, 2 ** 53, -5, 1.25, NaN),
      fc.constantFrom('', 'a', 'ab', 'é', 'éa', 'aé', '\ud800', 'xyz', '127.0.0.1', '10.0.0.12', 'x'.repeat(130), 'y'.repeat(130)),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.string({ maxLength: 4 }),
    );
    const list = fc.array(fc.tuple(fc.constantFrom('k1', 'k2', 'k3', 'key.four', 'ключ'), value), { maxLength: 6 }).map((pairs) => {
      const attrs: Attributes = {};
      for (const [k, v] of pairs) (attrs as Record<string, unknown>)[k] = v;
      return attrs;
    });
    fc.assert(
      fc.property(fc.array(list, { minLength: 2, maxLength: 8 }), (lists) => {
        expectListsAsPlain(lists);
      }),
      { numRuns: 500 },
    );
    // the same keys each time: every list after the first is written over the one before
    const sameKeys = fc.tuple(value, value, value, value).map(([a, b, c, d]) => ({ k1: a, k2: b, 'key.four': c, ключ: d }) as Attributes);
    fc.assert(
      fc.property(fc.array(sameKeys, { minLength: 2, maxLength: 12 }), (lists) => {
        expect(expectListsAsPlain(lists).over).to.equal(lists.length - 1);
      }),
      { numRuns: 500 },
    );
  });
});
