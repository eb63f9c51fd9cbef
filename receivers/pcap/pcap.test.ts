import { expect } from 'chai';
import YAML from 'yaml';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { resolveConfig } from '../../core/config/schema';
import { ConnMeta, FuncId } from '../../core/records/network-data';
import type { HostInfo, NetworkRecord } from '../../core/signals';
import { createLogger } from '../../core/telemetry/logger';
import { ServiceMetrics, componentTelemetry } from '../../core/telemetry/metrics';
import { pcapFactory, type PcapConfig } from './factory';
import { decodeFrame, LinkType, type TcpSegment } from './packet';
import { readPackets, type Packet } from './pcap-file';
import { TcpReassembler } from './reassembly';
import { expandPath, readCaptureFiles } from './receiver';

const NODE_PCAP = path.join(__dirname, '../../test/l7/testdata/http-node.pcap');
const HOST: HostInfo = { hostId: 'h', hostName: 'h', bootTimeUnixNano: 0n };

/** Writes packets as pcapng (one interface, nanosecond timestamps): the same packets in the other format. */
function writePcapng(file: string, packets: Packet[]): void {
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer): Buffer => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const len = 12 + padded.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    padded.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  blocks.push(block(0x0a0d0d0a, shb));
  const idb = Buffer.alloc(8 + 8 + 4);
  idb.writeUInt16LE(packets[0].linkType, 0);
  idb.writeUInt32LE(0, 4);
  idb.writeUInt16LE(9, 8); // if_tsresol
  idb.writeUInt16LE(1, 10);
  idb[12] = 9; // 10^-9
  blocks.push(block(1, idb));
  for (const p of packets) {
    const h = Buffer.alloc(20);
    const ts = BigInt(p.sec) * 1_000_000_000n + BigInt(p.nsec);
    h.writeUInt32LE(0, 0);
    h.writeUInt32LE(Number(ts >> 32n), 4);
    h.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    h.writeUInt32LE(p.data.length, 12);
    h.writeUInt32LE(p.origLen, 16);
    blocks.push(block(6, Buffer.concat([h, Buffer.from(p.data)])));
  }
  fs.writeFileSync(file, Buffer.concat(blocks));
}

function seg(over: Partial<TcpSegment> & { data?: string }): TcpSegment {
  const payload = Buffer.from(over.data ?? '', 'latin1');
  return { isV6: false, src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 0, ack: 0, syn: false, ackFlag: true, fin: false, rst: false, payload, payloadLength: payload.length, ...over };
}

describe('pcap receiver', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-pcap-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a tcpdump capture into records seen from the server, with no task', async () => {
    const records: NetworkRecord[] = [];
    const stats = await readCaptureFiles([NODE_PCAP], { path: NODE_PCAP, batchSize: 8, perspective: 'server', maxConnections: 16, maxOutOfOrderBytes: 1 << 20 }, (b) => {
      expect(b.length).to.be.at.most(8);
      records.push(...b);
    });
    expect(stats.notTcp).to.equal(0);
    expect(stats.gaps).to.equal(0);
    const first = records[0];
    expect(first.funcId).to.equal(FuncId.READ);
    expect(first.connMeta & (ConnMeta.NO_TASK | ConnMeta.SERVER)).to.equal(ConnMeta.NO_TASK | ConnMeta.SERVER);
    expect([first.pid, first.tid, first.comm]).to.deep.equal([0, 0, '']);
    expect(first.saddr).to.equal('127.0.0.1');
    expect(Buffer.from(first.payload).toString('latin1')).to.match(/^GET \/json\?user=1 HTTP\/1.1/);
    expect(records.filter((r) => r.funcId === FuncId.CLOSE).length).to.equal(4);
    // per connection, sequence numbers advance by the bytes moved
    const next = new Map<string, number>();
    for (const r of records) {
      if (r.funcId === FuncId.CLOSE) continue;
      const k = `${r.connId}/${r.funcId}`;
      if (next.has(k)) expect(r.tcpSeq).to.equal(next.get(k));
      next.set(k, (r.tcpSeq + r.bufLen) >>> 0);
    }
  });

  it('reads pcapng the same as pcap, and globs in name order', async () => {
    const packets = [...readPackets(NODE_PCAP)].map((p) => ({ ...p, data: Buffer.from(p.data) }));
    writePcapng(path.join(dir, 'b.pcapng'), packets);
    fs.copyFileSync(NODE_PCAP, path.join(dir, 'a.pcap'));
    const ng = [...readPackets(path.join(dir, 'b.pcapng'))];
    expect(ng.length).to.equal(packets.length);
    expect(ng.map((p) => [p.sec, p.nsec, p.origLen, Buffer.from(p.data).toString('hex')])).to.deep.equal(packets.map((p) => [p.sec, p.nsec, p.origLen, Buffer.from(p.data).toString('hex')]));
    expect(expandPath(path.join(dir, '*.pcap*')).map((f) => path.basename(f))).to.deep.equal(['a.pcap', 'b.pcapng']);
  });

  it('decodes Linux cooked, raw IP and IPv6 frames', () => {
    const [p] = [...readPackets(NODE_PCAP)].filter((x) => decodeFrame(x.linkType, x.data, x.origLen) !== 'not_tcp' && (decodeFrame(x.linkType, x.data, x.origLen) as TcpSegment).payloadLength > 0);
    const eth = Buffer.from(p.data);
    const ip = eth.subarray(14);
    const want = decodeFrame(LinkType.ETHERNET, eth, eth.length) as TcpSegment;
    const sll = Buffer.concat([Buffer.from([0, 0, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0]), ip]);
    expect((decodeFrame(LinkType.LINUX_SLL, sll, sll.length) as TcpSegment).seq).to.equal(want.seq);
    expect((decodeFrame(LinkType.RAW, ip, ip.length) as TcpSegment).payloadLength).to.equal(want.payloadLength);
    // snap length cut: fewer bytes captured than the IP header says
    const cutFrame = eth.subarray(0, eth.length - 10);
    const cutSeg = decodeFrame(LinkType.ETHERNET, cutFrame, eth.length) as TcpSegment;
    expect(cutSeg.payload.length).to.equal(want.payload.length - 10);
    expect(cutSeg.payloadLength).to.equal(want.payloadLength);
    // IPv6: a 40-byte header before the same TCP segment
    const tcp = ip.subarray((ip[0] & 15) * 4);
    const v6 = Buffer.alloc(40);
    v6[0] = 0x60;
    v6.writeUInt16BE(tcp.length, 4);
    v6[6] = 6;
    v6[23] = 1;
    v6[39] = 1;
    const s6 = decodeFrame(LinkType.RAW, Buffer.concat([v6, tcp]), 40 + tcp.length) as TcpSegment;
    expect([s6.isV6, s6.src, s6.seq]).to.deep.equal([true, '::1', want.seq]);
    expect(decodeFrame(LinkType.ETHERNET, Buffer.from([1, 2, 3]), 3)).to.equal('short');
  });

  it('reassembles: out-of-order segments held, retransmissions dropped, gaps reported as uncaptured bytes', () => {
    const counts = { gap: 0, retrans: 0, ooo: 0 };
    const r = new TcpReassembler({ perspective: 'server', maxConnections: 8, maxOutOfOrderBytes: 64 }, HOST, {
      gap: (n) => (counts.gap += n),
      retransmitted: (n) => (counts.retrans += n),
      outOfOrder: () => counts.ooo++,
      evicted: () => {},
      sideInferred: () => {},
    });
    const out: NetworkRecord[] = [];
    r.add(seg({ syn: true, ackFlag: false, seq: 99 }), 0, out);
    r.add(seg({ syn: true, src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000, seq: 499 }), 1, out);
    r.add(seg({ seq: 100, data: 'GET / ' }), 2, out);
    r.add(seg({ seq: 112, data: '\r\n\r\n' }), 3, out); // ahead of 'HTTP/1' below
    r.add(seg({ seq: 106, data: 'HTTP/1' }), 4, out);
    r.add(seg({ seq: 100, data: 'GET / ' }), 5, out); // retransmission
    r.add(seg({ seq: 108, data: 'P/1.1' }), 6, out); // overlaps: only '.1' is new... after 112 we already have it
    r.add(seg({ seq: 300, data: 'x'.repeat(80) }), 7, out); // far ahead: beyond the hold limit, the missing bytes become a gap
    const data = out.filter((x) => x.funcId === FuncId.READ);
    expect(data.map((x) => [x.tcpSeq, x.bufLen, Buffer.from(x.payload).toString('latin1')])).to.deep.equal([
      [100, 6, 'GET / '],
      [106, 6, 'HTTP/1'],
      [112, 4, '\r\n\r\n'],
      [116, 184, ''],
      [300, 80, 'x'.repeat(80)],
    ]);
    expect(counts).to.deep.equal({ gap: 184, retrans: 6 + 5, ooo: 2 });
    expect(out.every((x) => x.connMeta & ConnMeta.SERVER)).to.equal(true);
    r.add(seg({ fin: true, seq: 380 }), 8, out);
    r.add(seg({ fin: true, rst: false, src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000, seq: 500 }), 9, out);
    expect(out[out.length - 1].funcId).to.equal(FuncId.CLOSE);
    expect(r.size).to.equal(0);
  });

  it('reads a block with every key set (testdata/config.yaml), the glob relative to the config file', async () => {
    const raw = YAML.parse(fs.readFileSync(path.join(__dirname, 'testdata/config.yaml'), 'utf8'));
    const cfg = resolveConfig<PcapConfig>(pcapFactory.schema, raw);
    expect(cfg.problems).to.deep.equal([]);
    expect(pcapFactory.validate!(cfg.config!)).to.deep.equal([]);
    const ctx = { id: 'pcap', kind: 'receiver' as const, logger: createLogger({ sink: { write: () => {} } }), telemetry: componentTelemetry(new ServiceMetrics(), 'receiver', 'pcap'), configDir: path.join(__dirname, 'testdata') };
    const rec = pcapFactory.create(cfg.config!, ctx);
    const all = lastValueFrom(rec.output.pipe(toArray()));
    await rec.start({ waitForCapacity: async () => {} });
    const batches = await all;
    expect(batches.every((b) => b.length <= 256)).to.equal(true);
    expect(new Set((batches.flat() as NetworkRecord[]).map((r) => r.host.hostId))).to.deep.equal(new Set(['pcap:http-nginx-snap200.pcap']));
  });

  it('runs as a receiver from its factory and completes at the end of the files', async () => {
    const cfg = resolveConfig<PcapConfig>(pcapFactory.schema, { path: NODE_PCAP, perspective: 'both' });
    expect(cfg.problems).to.deep.equal([]);
    expect(pcapFactory.validate!(resolveConfig<PcapConfig>(pcapFactory.schema, {}).config!)[0].path).to.equal('path');
    const ctx = { id: 'pcap', kind: 'receiver' as const, logger: createLogger({ sink: { write: () => {} } }), telemetry: componentTelemetry(new ServiceMetrics(), 'receiver', 'pcap'), configDir: '/' };
    const rec = pcapFactory.create(cfg.config!, ctx);
    const all = lastValueFrom(rec.output.pipe(toArray()));
    await rec.start({ waitForCapacity: async () => {} });
    const batches = await all;
    const records = batches.flat() as NetworkRecord[];
    const roles = new Set(records.map((r) => r.connMeta & (ConnMeta.CLIENT | ConnMeta.SERVER)));
    expect([...roles].sort()).to.deep.equal([ConnMeta.CLIENT, ConnMeta.SERVER]);
    await rec.shutdown();
  });
});
