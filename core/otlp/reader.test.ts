import { expect } from 'chai';
import fc from 'fast-check';
import { RESOURCE_A, plainSpan, richSpan, spanBatches } from '../../test/otlp/fixtures';
import { decodeTraceRequestReference } from '../../test/otlp/reference';
import type { Span } from '../signals';
import { ProtoWriter, tagOf } from './proto-writer';
import { OtlpDecodeError, readTraceRequest, receivedAttributes } from './read-trace';
import { writeKeyValues, writeTraceRequest } from './write-trace';

/** Spans as comparable text, in a stable order (grouping by resource may reorder them). */
const canonical = (spans: Span[]): string[] =>
  spans.map((s) => JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v))).sort();

/** A span message's bytes: the given fields, in the given order. */
function spanMessage(...fields: Array<(w: ProtoWriter) => void>): Buffer {
  const w = new ProtoWriter();
  const rs = w.begin(tagOf.len(1), 2);
  const ss = w.begin(tagOf.len(2), 2);
  const span = w.begin(tagOf.len(2), 2);
  for (const f of fields) f(w);
  w.end(span);
  w.end(ss);
  w.end(rs);
  return w.finish();
}

const attribute = (key: string, value: string) => (w: ProtoWriter) => writeKeyValues(w, tagOf.len(9), { [key]: value });
const name = (text: string) => (w: ProtoWriter) => w.string(tagOf.len(5), text);


/** Attribute k whose string value is a lead byte followed by ASCII: not UTF-8. */
function notUtf8Attribute(w: ProtoWriter): void {
  w.byte(tagOf.len(9));
  w.byte(9);
  w.string(tagOf.len(1), 'k');
  w.byte(tagOf.len(2));
  w.byte(4);
  w.byte(tagOf.len(1));
  w.byte(2);
  w.byte(0xc3);
  w.byte(0x41);
}
describe('core/otlp readTraceRequest', function () {
  this.timeout(60_000);

  it('reads what protobufjs reads from the official protos, for random batches of spans', () => {
    fc.assert(
      fc.property(spanBatches(), (spans) => {
        const bytes = writeTraceRequest(spans);
        expect(readTraceRequest(bytes)).to.deep.equal(decodeTraceRequestReference(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('writes read spans back to the same spans, attributes copied from the received bytes', () => {
    fc.assert(
      fc.property(spanBatches(), (spans) => {
        const read = readTraceRequest(writeTraceRequest(spans));
        const again = readTraceRequest(writeTraceRequest(read));
        expect(canonical(again)).to.deep.equal(canonical(read));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps each span attributes bytes and freezes them, so a change means a new object that is encoded afresh', () => {
    const bytes = writeTraceRequest([richSpan(1), plainSpan(2)]);
    const [rich, plain] = readTraceRequest(bytes);
    const received = receivedAttributes(rich)!;
    const kept = received.request.subarray(received.start, received.end);
    expect(kept[0]).to.equal(tagOf.len(9));
    expect(bytes.includes(Buffer.from(kept))).to.equal(true);
    expect(Object.isFrozen(rich.attributes)).to.equal(true);
    expect(() => {
      'use strict';
      (rich.attributes as Record<string, unknown>)['http.request.method'] = 'POST';
    }).to.throw(TypeError);
    // byte for byte the same request when nothing changed
    expect(writeTraceRequest([rich, plain]).equals(bytes)).to.equal(true);
    rich.attributes = { ...rich.attributes, 'http.request.method': 'POST', added: 1 };
    const [back] = readTraceRequest(writeTraceRequest([rich]));
    expect(back.attributes).to.include({ 'http.request.method': 'POST', added: 1, 'http.response.status_code': 503 });
  });

  it('reads attributes split by other fields, keeping no bytes for them', () => {
    const [s] = readTraceRequest(spanMessage(attribute('a', 'x'), name('GET'), attribute('b', 'y')));
    expect(s.name).to.equal('GET');
    expect(s.attributes).to.deep.equal({ a: 'x', b: 'y' });
    expect(receivedAttributes(s)).to.equal(undefined);
    const [t] = readTraceRequest(spanMessage(name('GET'), attribute('a', 'x'), attribute('b', 'y')));
    const both = new ProtoWriter();
    writeKeyValues(both, tagOf.len(9), { a: 'x', b: 'y' });
    const received = receivedAttributes(t)!;
    expect(Buffer.from(received.request.subarray(received.start, received.end)).equals(both.finish())).to.equal(true);
  });

  it('keeps no bytes for attributes that are not valid UTF-8, so what it passes on is', () => {
    const [s] = readTraceRequest(spanMessage(notUtf8Attribute, attribute('b', 'é')));
    expect(s.attributes).to.deep.equal({ k: '\ufffdA', b: 'é' });
    expect(receivedAttributes(s)).to.equal(undefined);
    const badKey = (w: ProtoWriter) => {
      w.byte(tagOf.len(9));
      w.byte(7);
      w.byte(tagOf.len(1));
      w.byte(1);
      w.byte(0xff); // never UTF-8
      w.byte(tagOf.len(2));
      w.byte(2);
      w.byte(tagOf.varint(2));
      w.byte(1);
    };
    const [k] = readTraceRequest(spanMessage(badKey));
    expect(k.attributes).to.deep.equal({ '\ufffd': true });
    expect(receivedAttributes(k)).to.equal(undefined);
    const [t] = readTraceRequest(spanMessage(attribute('b', 'é'), attribute('c', '日本')));
    expect(receivedAttributes(t)).to.not.equal(undefined);
  });

  it('reads values seen before as what they are, whether they repeat, alternate or never repeat', () => {
    const spans = Array.from({ length: 300 }, (_, i) => ({
      ...plainSpan(i + 1),
      attributes: {
        'network.transport': 'tcp',
        'url.path': i % 2 ? '/a' : '/bb',
        'espan.conn_key': `10.0.0.1:80-10.0.0.2:${40000 + i}`,
        'espan.req_seq': 4_000_000_000 + i,
        'server.port': i < 150 ? 80 : 8080,
        nested: { inner: i % 3 ? 'x' : 'y' },
        'user.note': i % 40 < 20 ? `note ${i}` : 'same note',
      },
    }));
    const bytes = writeTraceRequest(spans);
    for (let round = 0; round < 2; round++) expect(readTraceRequest(bytes)).to.deep.equal(decodeTraceRequestReference(bytes));
  });

  it('notices a value that is not UTF-8 each time it comes, not only the first', () => {
    for (let i = 0; i < 3; i++) {
      const [s] = readTraceRequest(spanMessage(notUtf8Attribute));
      expect(s.attributes).to.deep.equal({ k: '\ufffdA' });
      expect(receivedAttributes(s)).to.equal(undefined);
    }
  });

  it('reads repeated keys (the last wins) and a __proto__ key as a key like any other', () => {
    const own = Object.defineProperty({}, '__proto__', { value: { polluted: true }, enumerable: true });
    const kvlist = (w: ProtoWriter) => writeKeyValues(w, tagOf.len(9), own);
    const bytes = spanMessage(attribute('a', '1'), attribute('__proto__', 'x'), attribute('b', '2'), attribute('a', '3'), kvlist);
    const [s] = readTraceRequest(bytes);
    expect(Object.keys(s.attributes)).to.deep.equal(['a', '__proto__', 'b']);
    expect(Object.getOwnPropertyDescriptor(s.attributes, '__proto__')!.value).to.deep.equal({ polluted: true });
    expect(s.attributes).to.deep.include({ a: '3', b: '2' });
    expect(Object.getPrototypeOf(s.attributes)).to.equal(Object.prototype);
    expect((s.attributes as Record<string, unknown>).polluted).to.equal(undefined);
    expect(readTraceRequest(bytes)).to.deep.equal(decodeTraceRequestReference(bytes));
  });

  it('skips unknown fields of every wire type, and takes fields in any order', () => {
    const unknown = (w: ProtoWriter) => {
      w.byte(tagOf.varint(99 & 15) | 0x80); // field 99 needs a two-byte tag: written by hand
      w.byte(99 >> 4);
      w.varint32(123456);
      w.varint32(tagOf.fixed64(100));
      w.fixed64(5n);
      w.varint32(tagOf.len(101));
      w.varint32(3);
      w.byte(1);
      w.byte(2);
      w.byte(3);
      w.varint32(tagOf.fixed32(102));
      w.fixed32(7);
    };
    const bytes = spanMessage(unknown, attribute('a', 'x'), (w) => w.hexBytes(tagOf.len(2), '00f067aa0ba902b7'), name('late name'), (w) => w.hexBytes(tagOf.len(1), '4bf92f3577b34da6a3ce929d0e0e4736'));
    const [s] = readTraceRequest(bytes);
    expect(s).to.deep.include({ name: 'late name', spanId: '00f067aa0ba902b7', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    expect(s.attributes).to.deep.equal({ a: 'x' });
    expect(readTraceRequest(bytes)).to.deep.equal(decodeTraceRequestReference(bytes));
  });

  it('shares one resource and one scope object among the spans of a group', () => {
    const spans = readTraceRequest(writeTraceRequest([plainSpan(1), plainSpan(2), plainSpan(3, { attributes: { 'service.name': 'other' } })]));
    expect(spans[0].resource).to.equal(spans[1].resource);
    expect(spans[0].scope).to.equal(spans[1].scope);
    expect(spans[2].resource).to.not.equal(spans[0].resource);
    expect(spans[0].resource.attributes).to.include(RESOURCE_A.attributes);
  });

  it('relies on Buffer methods Node has (utf8Slice, hexSlice): a Node without them fails here first', () => {
    const b = Buffer.from('héllo') as Buffer & { utf8Slice(s: number, e: number): string; hexSlice(s: number, e: number): string };
    expect(b.utf8Slice(1, 3)).to.equal('é');
    expect(b.hexSlice(0, 2)).to.equal('68c3');
  });

  it('rejects ids of the wrong length and unsupported wire types with an OtlpDecodeError', () => {
    expect(() => readTraceRequest(spanMessage((w) => w.hexBytes(tagOf.len(2), 'abcd')))).to.throw(OtlpDecodeError, /spanId must be 8 bytes, got 2/);
    expect(() => readTraceRequest(Buffer.from([0x0b]))).to.throw(OtlpDecodeError, /wire type 3/);
    expect(() => readTraceRequest(Buffer.from([0x0a, 0xff, 0xff]))).to.throw(OtlpDecodeError, /ExportTraceServiceRequest.*truncated/);
    expect(() => readTraceRequest(Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).to.throw(OtlpDecodeError, /ten bytes/);
  });

  it('never throws anything but an OtlpDecodeError on cut or damaged requests', () => {
    const bytes = writeTraceRequest([richSpan(1), plainSpan(2), richSpan(3)]);
    for (let cut = 0; cut < bytes.length; cut++) {
      try {
        readTraceRequest(bytes.subarray(0, cut));
      } catch (e) {
        expect(e).to.be.instanceOf(OtlpDecodeError);
      }
    }
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const damaged = Buffer.from(bytes);
        for (const [at, b] of edits) damaged[at] = b;
        try {
          readTraceRequest(damaged);
        } catch (e) {
          expect(e).to.be.instanceOf(OtlpDecodeError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
