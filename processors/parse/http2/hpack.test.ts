import { expect } from 'chai';
import fc from 'fast-check';
import { huffmanEncode } from '../../../test/http2/conversation';
import { decodeHeaderBlock, DynamicTable, huffmanCode, huffmanDecode, type FieldSink } from './hpack';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

class AllFields implements FieldSink {
  fields: Array<[string, string]> = [];
  unknowns = 0;
  constructor(private readonly only?: Set<string>) {}
  wants(name: string): boolean {
    return !this.only || this.only.has(name);
  }
  field(name: string, value: string): void {
    this.fields.push([name, value]);
  }
  unknown(): void {
    this.unknowns++;
  }
}

function decode(table: DynamicTable, bytes: Uint8Array, only?: Set<string>): Array<[string, string]> | false {
  const sink = new AllFields(only);
  return decodeHeaderBlock(bytes, 0, bytes.length, table, sink) ? sink.fields : false;
}

describe('hpack', () => {
  it('has the canonical Huffman code of RFC 7541 Appendix B', () => {
    expect(huffmanCode(0)).to.deep.equal([0x1ff8, 13]);
    expect(huffmanCode(48)).to.deep.equal([0x0, 5]); // '0'
    expect(huffmanCode(32)).to.deep.equal([0x14, 6]); // ' '
    expect(huffmanCode(92)).to.deep.equal([0x7fff0, 19]); // '\'
    expect(huffmanCode(220)).to.deep.equal([0xffffffd, 28]);
    expect(huffmanCode(255)).to.deep.equal([0x3ffffee, 26]);
    expect(huffmanCode(256)).to.deep.equal([0x3fffffff, 30]); // EOS
  });

  it('decodes Huffman strings and refuses bad padding and EOS', () => {
    expect(huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f4ff'), 0, 12, true)).to.equal('www.example.com');
    expect(huffmanDecode(hex('a8eb10649cbf'), 0, 6, true)).to.equal('no-cache');
    expect(huffmanDecode(hex('a8eb10649cbf'), 0, 6, false)).to.equal(8);
    expect(huffmanDecode(hex('a8eb10649cbe'), 0, 6, true)).to.equal(undefined); // padding not all ones
    expect(huffmanDecode(hex('ffffffff'), 0, 4, true)).to.equal(undefined); // EOS
    fc.assert(fc.property(fc.string({ unit: 'binary' }).map((s) => Buffer.from(s, 'utf8').toString('latin1')), (s) => {
      const e = Uint8Array.from(huffmanEncode(s));
      expect(huffmanDecode(e, 0, e.length, true)).to.equal(s);
    }), { numRuns: 500 });
  });

  it('decodes the request examples of RFC 7541 C.3 (plain) and C.4 (Huffman) with one dynamic table', () => {
    for (const blocks of [
      ['828684410f7777772e6578616d706c652e636f6d', '828684be58086e6f2d6361636865', '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565'],
      ['828684418cf1e3c2e5f23a6ba0ab90f4ff', '828684be5886a8eb10649cbf', '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'],
    ]) {
      const t = new DynamicTable(65536, true);
      expect(decode(t, hex(blocks[0]))).to.deep.equal([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']]);
      expect(t.length).to.equal(1);
      expect(decode(t, hex(blocks[1]))).to.deep.equal([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']]);
      expect(decode(t, hex(blocks[2]))).to.deep.equal([[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']]);
      expect(t.length).to.equal(3);
    }
  });

  it('evicts as RFC 7541 C.5 does with a 256-byte table', () => {
    const t = new DynamicTable(65536, true);
    t.setSettingsLimit(256);
    t.resize(256);
    const first = decode(t, hex('4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d'));
    expect(first).to.deep.equal([[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']]);
    expect(t.length).to.equal(4);
    // :status 307 goes in, :status 302 goes out
    expect(decode(t, hex('4803333037c1c0bf'))).to.deep.equal([[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']]);
    expect(t.length).to.equal(4);
  });

  it('never decodes unwanted values, yet keeps the table in step', () => {
    const t = new DynamicTable(65536, true);
    const sink = new AllFields(new Set([':path']));
    const value = huffmanEncode('s3cret');
    const secret = [0x40, 13, ...Buffer.from('authorization'), 0x80 | value.length, ...value];
    const bytes = Uint8Array.from([...secret, 0x44, 0x02, 0x2f, 0x61, 0xbe, 0xbf]); // literal authorization; :path /a; then refer to both
    expect(decodeHeaderBlock(bytes, 0, bytes.length, t, sink)).to.equal(true);
    expect(sink.fields).to.deep.equal([[':path', '/a'], [':path', '/a']]);
    expect(JSON.stringify(t)).not.to.include('s3cret');
  });

  it('reports references to entries of a table whose start was not seen as unknown, and trusts entries inserted since', () => {
    const t = new DynamicTable(65536, false);
    const sink = new AllFields();
    const bytes = Uint8Array.from([0xbe, 0x44, 0x02, 0x2f, 0x62, 0xbe, 0xbf]);
    expect(decodeHeaderBlock(bytes, 0, bytes.length, t, sink)).to.equal(true);
    expect(sink.fields).to.deep.equal([[':path', '/b'], [':path', '/b']]);
    expect(sink.unknowns).to.equal(2); // 0xbe before the insertion, 0xbf after it
  });

  it('never throws on cut or damaged blocks; a failed block forgets the table', () => {
    const good = hex('828684418cf1e3c2e5f23a6ba0ab90f4ff');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.nat(), (noise, where, cutAt) => {
        const t = new DynamicTable(4096, true);
        const at = where % (good.length + 1);
        const bytes = Uint8Array.from([...good.subarray(0, at), ...noise, ...good.subarray(at)]);
        const end = cutAt % (bytes.length + 1);
        const ok = decodeHeaderBlock(bytes, 0, end, t, new AllFields());
        if (!ok) expect(t.complete).to.equal(false);
      }),
      { numRuns: 20000 },
    );
  });
});
