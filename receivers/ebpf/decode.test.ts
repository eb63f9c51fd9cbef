import { expect } from 'chai';
import { copyRecord, DecodeCache, encodeRecord, encodedSize, META_SIZE } from '../../core/records/network-data';
import type { HostInfo, NetworkRecord } from '../../core/signals';
import { decodeBatch } from './decode';

const host: HostInfo = { hostId: 'h1', hostName: 'test', bootTimeUnixNano: 1_700_000_000_000_000_000n };

function record(i: number, over: Partial<NetworkRecord> = {}): NetworkRecord {
  const payload = Buffer.from(`GET /${i} HTTP/1.1\r\n\r\n`);
  return {
    ts: 1_000_000 + i,
    tsTail: 1_000_500 + i,
    tid: 4242,
    utid: 0,
    pid: 4200,
    comm: 'nginx',
    connId: `ffff8881${String(i % 4).padStart(8, '0')}0000000100000002`,
    saddr: i % 2 ? '127.0.0.1' : '::1',
    sport: 8080,
    daddr: i % 2 ? '127.0.0.1' : '::1',
    dport: 50000 + (i % 4),
    netns: 4026531840,
    connMeta: i % 2 ? 8 : 9,
    tcpSeq: (0xfffffff0 + i) >>> 0,
    funcId: 1,
    fd: 7,
    bufLen: payload.length,
    actSize: payload.length,
    index: i,
    payload,
    host,
    ...over,
  };
}

function batchOf(records: NetworkRecord[]): { buf: Buffer; offsets: Uint32Array } {
  const buf = Buffer.alloc(records.reduce((s, r) => s + encodedSize(r), 0));
  const offsets = new Uint32Array(records.length + 1);
  let at = 0;
  records.forEach((r, i) => {
    offsets[i] = at;
    at += encodeRecord(r, buf, at);
  });
  offsets[records.length] = at;
  return { buf, offsets };
}

const plain = (r: NetworkRecord) => ({ ...copyRecord(r), payload: Buffer.from(r.payload).toString('hex') });

describe('ebpf decodeBatch', () => {
  it('decodes every record of a batch, payloads as views into the batch', () => {
    const input = Array.from({ length: 12 }, (_, i) => record(i));
    const { buf, offsets } = batchOf(input);
    const { records, failures } = decodeBatch(buf, offsets, host);
    expect(failures.size).to.equal(0);
    expect(records.map(plain)).to.deep.equal(input.map(plain));
    expect(records[3].payload.buffer).to.equal(buf.buffer);
    expect(records[0].host).to.equal(host);
  });

  it('gives the same records with a DecodeCache, and shares the strings of one connection', () => {
    const input = Array.from({ length: 40 }, (_, i) => record(i, { comm: i % 3 ? 'nginx' : 'wrk' }));
    const { buf, offsets } = batchOf(input);
    const cache = new DecodeCache(8);
    const first = decodeBatch(buf, offsets, host, cache).records;
    const again = decodeBatch(Buffer.from(buf), offsets, host, cache).records;
    expect(first.map(plain)).to.deep.equal(input.map(plain));
    expect(again.map(plain)).to.deep.equal(input.map(plain));
  });

  it('reads records in place: one payload view per record, and copyRecord gives a plain object with every field', () => {
    const input = [record(0), record(1)];
    const { buf, offsets } = batchOf(input);
    const [r] = decodeBatch(buf, offsets, host).records;
    expect(r.payload).to.equal(r.payload);
    buf.writeUInt32LE(77, offsets[0] + 124); // fields are read from the batch when asked
    expect(r.index).to.equal(77);
    const copy = copyRecord(r);
    expect(Object.keys(copy).sort()).to.deep.equal(Object.keys(input[0]).sort());
    expect(plain(copy)).to.deep.equal(plain({ ...input[0], index: 77 }));
  });

  it('does not confuse connections whose random salt is equal but whose socket differs', () => {
    const a = record(1, { connId: 'ffff888100000001' + '0000000100000002', saddr: '10.0.0.1' });
    const b = record(1, { connId: 'ffff888100000002' + '0000000100000002', saddr: '10.0.0.2' });
    const { buf, offsets } = batchOf([a, b]);
    const out = decodeBatch(buf, offsets, host, new DecodeCache()).records;
    expect(out.map((r) => [r.connId, r.saddr])).to.deep.equal([
      [a.connId, '10.0.0.1'],
      [b.connId, '10.0.0.2'],
    ]);
  });

  it('reads every connection string and comm right in a small cache, whatever the order fields are asked in across batches', () => {
    // connections and addresses from small pools through a cache of one slot: taken and retaken, IPv6 ::a.b.c.d beside IPv4 a.b.c.d, an all-zero id
    const ids = ['0'.repeat(32), 'ffff888100000001' + '0000000100000002', 'ffff888100000002' + '0000000100000002', 'ffff888100000001' + '0000000300000006', 'ffff888100000003' + '0000000500000003', 'ffff888100000004' + '0000000500000003'];
    const v4 = ['10.0.0.1', '127.0.0.1', '0.0.0.0'];
    const v6 = ['::a00:1', '::1', '2001:db8::7', '2001:db8:0:1::7', '2001:db8::1:0:0:7', 'fe80::1:2:3:4', '::'];
    const comms = ['nginx', 'nginy', 'python3', 'worker-0123456', 'worker-0123457', 'x', 'abcdefghijklmnop'];
    let seed = 7;
    const next = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const cache = new DecodeCache(1);
    const batches = Array.from({ length: 4 }, (_, b) => {
      const input = Array.from({ length: 30 }, (_, i) => {
        // a connection is its id and meta; its addresses follow from them
        const c = next(ids.length);
        const connMeta = [0, 8, 9][next(3)];
        const pool = connMeta === 9 ? v6 : v4;
        // threads of a few programs, names of one length and of every length up to the 16 bytes
        const comm = comms[next(comms.length)];
        return record(b * 30 + i, { connId: ids[c], connMeta, saddr: pool[c % pool.length], daddr: pool[(c + 2) % pool.length], tid: next(4), comm });
      });
      const { buf, offsets } = batchOf(input);
      return { input, records: decodeBatch(buf, offsets, host, cache).records };
    });
    const fields = ['connId', 'saddr', 'daddr', 'comm'] as const;
    for (let k = 0; k < 2000; k++) {
      const { input, records } = batches[next(batches.length)];
      const i = next(records.length);
      const f = fields[next(fields.length)];
      expect(records[i][f], `${f} of record ${input[i].index}`).to.equal(input[i][f]);
    }
  });

  it('reads a connection whose id and meta are all zero bits from a cache not yet filled', () => {
    const zero = record(0, { connId: '0'.repeat(32), connMeta: 0, saddr: '0.0.0.0', daddr: '0.0.0.0' });
    const { buf, offsets } = batchOf([zero]);
    const [r] = decodeBatch(buf, offsets, host, new DecodeCache()).records;
    expect([r.connId, r.saddr, r.daddr]).to.deep.equal([zero.connId, '0.0.0.0', '0.0.0.0']);
  });

  it('counts records it cannot decode by reason and keeps the others', () => {
    const input = [record(0), record(1), record(2)];
    const { buf, offsets } = batchOf(input);
    buf.writeInt32LE(100000, offsets[1] + 120); // act_size larger than the record
    const bad = new Uint32Array([...offsets, offsets[3] + META_SIZE * 4]); // a last record past the end
    const { records, failures } = decodeBatch(buf, bad, host);
    expect(records.map((r) => r.index)).to.deep.equal([0, 2]);
    expect(Object.fromEntries(failures)).to.deep.equal({ bad_act_size: 1, bad_offsets: 1 });
    const short = decodeBatch(buf, new Uint32Array([0, 10]), host);
    expect(Object.fromEntries(short.failures)).to.deep.equal({ short_record: 1 });
  });
});
