/**
 * Which end of a connection is the server when the capture holds no
 * handshake: the committed captures with their SYN/SYN-ACK removed (and cut
 * later still), the server moved to a high port and the clients to low ones,
 * so the lower port is the wrong answer; and crafted segments for each kind
 * of evidence.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConnMeta, FuncId } from '../../core/records/network-data';
import type { HostInfo, L7Message, NetworkRecord } from '../../core/signals';
import { parseRecords, recordsFromPcap } from '../../test/l7/helpers';
import type { TcpSegment } from './packet';
import { SIDE_HOLD_SEGMENTS, TcpReassembler, type Perspective, type SideEvidence } from './reassembly';

const L7_DATA = path.join(__dirname, '../../test/l7/testdata');
/** the committed captures: test/l7's, and one recorded with redis-server on a high port (testdata/record-redis-high-port.sh) */
const CAPTURES = [...['http-node.pcap', 'http-nginx.pcap', 'redis.pcap', 'mysql.pcap'].map((f) => path.join(L7_DATA, f)), path.join(__dirname, 'testdata/redis-high-port.pcap')];
const HOST: HostInfo = { hostId: 'h', hostName: 'h', bootTimeUnixNano: 0n };
const PCAP_HEADER = 24;
const PACKET_HEADER = 16;
const ETHERNET = 1;
const ETHERNET_HEADER = 14;
const SERVER_PORT = 40000;
const FIRST_CLIENT_PORT = 1234;

interface Packet {
  bytes: Buffer;
  /** offset of the TCP header in `bytes` */
  tcp: number;
}

/** The packets of a classic little-endian Ethernet/IPv4 pcap, each with its record header (copied: rewritten below). */
function packets(file: Buffer): Packet[] {
  expect(file.readUInt32LE(0)).to.equal(0xa1b2c3d4);
  expect(file.readUInt32LE(20)).to.equal(ETHERNET);
  const out: Packet[] = [];
  for (let at = PCAP_HEADER; at < file.length; ) {
    const length = PACKET_HEADER + file.readUInt32LE(at + 8);
    const bytes = Buffer.from(file.subarray(at, at + length));
    const ip = PACKET_HEADER + ETHERNET_HEADER;
    expect(bytes[ip] >> 4).to.equal(4);
    out.push({ bytes, tcp: ip + (bytes[ip] & 15) * 4 });
    at += length;
  }
  return out;
}

const isSyn = (p: Packet): boolean => (p.bytes[p.tcp + 13] & 0x02) !== 0;

/**
 * Moves the server (the end that sent the SYN-ACK) to SERVER_PORT and each
 * client to a port below it, counting up from FIRST_CLIENT_PORT. The TCP
 * checksum is left as it was: the receiver does not check it.
 */
function movePorts(all: Packet[]): { serverPort: number } {
  const synAck = all.find((p) => isSyn(p) && p.bytes[p.tcp + 13] & 0x10)!;
  const serverPort = synAck.bytes.readUInt16BE(synAck.tcp);
  const clients = new Map<number, number>();
  const moved = (port: number): number => {
    if (port === serverPort) return SERVER_PORT;
    if (!clients.has(port)) clients.set(port, FIRST_CLIENT_PORT + clients.size);
    return clients.get(port)!;
  };
  for (const p of all) {
    p.bytes.writeUInt16BE(moved(p.bytes.readUInt16BE(p.tcp)), p.tcp);
    p.bytes.writeUInt16BE(moved(p.bytes.readUInt16BE(p.tcp + 2)), p.tcp + 2);
  }
  return { serverPort };
}

const line = (m: L7Message): string => `${m.protocol} ${m.reqSeq} ${m.outcome === 'no_response' ? '-' : `${m.outcome} ${m.respSeq}`}`;

function seg(over: Partial<TcpSegment> & { data?: string }): TcpSegment {
  const payload = Buffer.from(over.data ?? '', 'latin1');
  return { isV6: false, src: '10.0.0.1', dst: '10.0.0.2', sport: FIRST_CLIENT_PORT, dport: SERVER_PORT, seq: 1000, ack: 0, syn: false, ackFlag: true, fin: false, rst: false, payload, payloadLength: payload.length, ...over };
}

/** The reverse direction of `seg`'s default connection. */
const back = (over: Partial<TcpSegment> & { data?: string }): TcpSegment => seg({ src: '10.0.0.2', dst: '10.0.0.1', sport: SERVER_PORT, dport: FIRST_CLIENT_PORT, seq: 5000, ...over });

function reassemble(perspective: Perspective, segments: TcpSegment[]): { out: NetworkRecord[]; evidence: SideEvidence[] } {
  const evidence: SideEvidence[] = [];
  const r = new TcpReassembler({ perspective, maxConnections: 16, maxOutOfOrderBytes: 1 << 20 }, HOST, {
    gap: () => {},
    retransmitted: () => {},
    outOfOrder: () => {},
    evicted: () => {},
    sideInferred: (e) => evidence.push(e),
  });
  const out: NetworkRecord[] = [];
  segments.forEach((s, i) => r.add(s, i, out));
  r.flush(out);
  return { out, evidence };
}

const ends = (out: NetworkRecord[]): string[] => [...new Set(out.map((r) => `${r.saddr}:${r.sport}`))];

describe('pcap receiver: the server end without a captured handshake', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-pcap-side-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const file of CAPTURES) {
    const name = path.basename(file);
    it(`${name} without SYN/SYN-ACK, server on a high port: each perspective gives its own end's records and messages`, async () => {
      const original = fs.readFileSync(file);
      const all = packets(original);
      const { serverPort } = movePorts(all);
      const cut = path.join(dir, `nosyn-${name}`);
      fs.writeFileSync(cut, Buffer.concat([original.subarray(0, PCAP_HEADER), ...all.filter((p) => !isSyn(p)).map((p) => p.bytes)]));
      for (const perspective of ['server', 'client'] as const) {
        const whole = parseRecords(await recordsFromPcap(file, { perspective })).messages;
        expect(whole.length).to.be.greaterThan(0);
        expect(whole.every((m) => m.role === perspective && (m.sport === serverPort) === (perspective === 'server'))).to.equal(true);
        const records = await recordsFromPcap(cut, { perspective });
        // the side was inferred, not seen: no role bits, the parse processor infers the role too
        expect(records.filter((r) => r.connMeta & (ConnMeta.CLIENT | ConnMeta.SERVER))).to.deep.equal([]);
        const own = records.filter((r) => r.funcId !== FuncId.CLOSE).map((r) => (perspective === 'server') === (r.sport === SERVER_PORT));
        expect(own.length).to.be.greaterThan(0);
        expect(own.every(Boolean), `${perspective} records from the ${perspective}'s port`).to.equal(true);
        const { messages } = parseRecords(records);
        expect(messages.map((m) => `${m.role} ${m.sport === SERVER_PORT ? 'server' : 'client'} port`)).to.deep.equal(messages.map(() => `${perspective} ${perspective} port`));
        // joined mid-stream, a connection's first exchange is counted, not paired (the parse
        // processor cannot tell that no earlier request is owed): every message is one of the whole capture's
        expect(messages.length).to.be.greaterThan(0);
        expect(whole.map(line)).to.include.members(messages.map(line));
      }
    });
  }

  it('the committed captures cut from every packet on, server on a high port: messages are seen from the end the perspective asks for', async () => {
    let messages = 0;
    for (const file of CAPTURES) {
      const name = path.basename(file);
      const original = fs.readFileSync(file);
      const all = packets(original);
      movePorts(all);
      for (let from = 1; from < all.length; from++) {
        const cut = path.join(dir, `from-${from}-${name}`);
        fs.writeFileSync(cut, Buffer.concat([original.subarray(0, PCAP_HEADER), ...all.slice(from).map((p) => p.bytes)]));
        for (const perspective of ['server', 'client'] as const) {
          for (const m of parseRecords(await recordsFromPcap(cut, { perspective })).messages) {
            expect(`${m.role} from ${m.sport === SERVER_PORT ? 'server' : 'client'} port`, `${name} from packet ${from}: ${line(m)}`).to.equal(`${perspective} from ${perspective} port`);
            messages++;
          }
        }
        fs.rmSync(cut);
      }
    }
    expect(messages).to.be.greaterThan(400);
  });

  it('takes the side from a request: the client on the lower port', () => {
    const segments = [seg({ data: '*1\r\n$4\r\nPING\r\n' }), back({ data: '+PONG\r\n' })];
    const server = reassemble('server', segments);
    expect(server.evidence).to.deep.equal(['request_direction']);
    expect(ends(server.out)).to.deep.equal([`10.0.0.2:${SERVER_PORT}`]);
    expect(server.out.map((r) => r.funcId)).to.deep.equal([FuncId.READ, FuncId.WRITE]);
    expect(server.out.every((r) => (r.connMeta & (ConnMeta.CLIENT | ConnMeta.SERVER)) === 0)).to.equal(true);
    expect(ends(reassemble('client', segments).out)).to.deep.equal([`10.0.0.1:${FIRST_CLIENT_PORT}`]);
  });

  it('takes the side from a response, and from a request split over segments', () => {
    const response = reassemble('server', [back({ data: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' })]);
    expect([response.evidence, ends(response.out)]).to.deep.equal([['response_direction'], [`10.0.0.2:${SERVER_PORT}`]]);
    // opaque bytes from the server, then a request line the client sends in three pieces
    const split = reassemble('server', [back({ data: '\x00\x01\x02' }), seg({ data: 'GE' }), seg({ seq: 1002, data: 'T / HT' }), seg({ seq: 1008, data: 'TP/1.1\r\n\r\n' })]);
    expect([split.evidence, ends(split.out)]).to.deep.equal([['request_direction'], [`10.0.0.2:${SERVER_PORT}`]]);
    expect(split.out.map((r) => Buffer.from(r.payload).toString('latin1'))).to.deep.equal(['\x00\x01\x02', 'GE', 'T / HT', 'TP/1.1\r\n\r\n']);
  });

  it('takes the side from a port that accepted another connection of the capture, before the bytes', () => {
    const listening = [
      seg({ src: '10.0.0.9', sport: 50000, syn: true, ackFlag: false, seq: 1 }),
      back({ dst: '10.0.0.9', dport: 50000, syn: true, seq: 7 }),
      // a response-looking first message from the client end would say otherwise
      seg({ data: 'HTTP/1.1 200 OK\r\n\r\n' }),
    ];
    const r = reassemble('server', listening);
    expect(r.evidence).to.deep.equal(['listening_port']);
    expect(ends(r.out)).to.deep.equal([`10.0.0.2:${SERVER_PORT}`]);
  });

  it('holds a few segments of bytes it cannot read, then takes port ranges, then the lower port', () => {
    const opaque = (n: number, over: Partial<TcpSegment> = {}): TcpSegment[] => Array.from({ length: n }, (_, i) => seg({ seq: 1000 + 4 * i, data: '\x00\x00\x00\x00', ...over }));
    const r = new TcpReassembler({ perspective: 'server', maxConnections: 16, maxOutOfOrderBytes: 1 << 20 }, HOST, { gap: () => {}, retransmitted: () => {}, outOfOrder: () => {}, evicted: () => {}, sideInferred: () => {} });
    const out: NetworkRecord[] = [];
    const held = opaque(SIDE_HOLD_SEGMENTS, { sport: 50000, dport: 5000 });
    held.slice(0, -1).forEach((s) => r.add(s, 0, out));
    expect(out).to.deep.equal([]);
    r.add(held[held.length - 1], 0, out);
    expect(out.map((x) => x.tcpSeq)).to.deep.equal(held.map((s) => s.seq));
    expect(ends(out)).to.deep.equal(['10.0.0.2:5000']);

    const ranges = reassemble('server', opaque(2, { sport: 50000, dport: 5000 }));
    expect([ranges.evidence, ends(ranges.out)]).to.deep.equal([['port_range'], ['10.0.0.2:5000']]);
    const lower = reassemble('server', opaque(2, { sport: 40001, dport: 40002 }));
    expect([lower.evidence, ends(lower.out)]).to.deep.equal([['lower_port'], ['10.0.0.1:40001']]);
    // a FIN decides at once: nothing more is coming
    const fin = reassemble('server', [...opaque(1, { sport: 50000, dport: 5000 }), seg({ sport: 50000, dport: 5000, seq: 1004, fin: true }), back({ sport: 5000, dport: 50000, fin: true })]);
    expect(fin.evidence).to.deep.equal(['port_range']);
    expect(fin.out.map((x) => x.funcId)).to.deep.equal([FuncId.READ, FuncId.CLOSE]);
  });
});
