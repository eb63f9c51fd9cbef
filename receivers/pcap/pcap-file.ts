/**
 * Reads packets from classic pcap (microsecond and nanosecond, either byte
 * order) and pcapng (section, interface, enhanced/simple/obsolete packet
 * blocks; per-interface link type and timestamp resolution) files, a chunk at
 * a time so a large capture never sits in memory whole.
 */
import * as fs from 'node:fs';

export interface Packet {
  /** seconds and nanoseconds since the Unix epoch */
  sec: number;
  nsec: number;
  linkType: number;
  /** captured bytes (a view) */
  data: Uint8Array;
  /** bytes the packet had on the wire */
  origLen: number;
}

export class PcapFormatError extends Error {}

const CHUNK = 1 << 20;

/** Buffered little/big-endian file reader that hands out views of whole records. */
class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;
  private eof = false;
  offset = 0;

  constructor(private readonly fd: number) {}

  /** Ensures `n` bytes are available at the cursor; false at the end of the file. */
  ensure(n: number): boolean {
    while (this.buf.length - this.at < n && !this.eof) {
      const rest = this.buf.subarray(this.at);
      const chunk = Buffer.allocUnsafe(Math.max(CHUNK, n - rest.length));
      const got = fs.readSync(this.fd, chunk, 0, chunk.length, null);
      if (got === 0) this.eof = true;
      // A fresh buffer each time: packets handed out are views, and must stay valid after the next read.
      this.buf = Buffer.concat([rest, chunk.subarray(0, got)]);
      this.at = 0;
    }
    return this.buf.length - this.at >= n;
  }

  view(n: number): Buffer {
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    this.offset += n;
    return v;
  }

  peekU32LE(): number {
    return this.buf.readUInt32LE(this.at);
  }

  get remaining(): number {
    return this.buf.length - this.at;
  }
}

interface Interface {
  linkType: number;
  /** timestamp units per second */
  unitsPerSecond: bigint;
}

/** Iterates the packets of one file. Throws PcapFormatError for a file that is neither format. */
export function* readPackets(path: string): Generator<Packet, void, undefined> {
  const fd = fs.openSync(path, 'r');
  try {
    const r = new ChunkReader(fd);
    if (!r.ensure(4)) throw new PcapFormatError(`${path}: empty file`);
    const magic = r.peekU32LE();
    if (magic === 0x0a0d0d0a) yield* readPcapng(path, r);
    else yield* readClassic(path, r);
  } finally {
    fs.closeSync(fd);
  }
}

function* readClassic(path: string, r: ChunkReader): Generator<Packet, void, undefined> {
  if (!r.ensure(24)) throw new PcapFormatError(`${path}: file ends inside the 24-byte pcap header`);
  const h = r.view(24);
  const m = h.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) {
    le = true;
    nano = m === 0xa1b23c4d;
  } else if (m === 0xd4c3b2a1 || m === 0x4d3cb2a1) {
    le = false;
    nano = m === 0x4d3cb2a1;
  } else {
    throw new PcapFormatError(`${path}: not a pcap or pcapng file (magic 0x${m.toString(16)})`);
  }
  const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linkType = u32(h, 20) & 0xffff;
  while (r.ensure(16)) {
    const rec = r.view(16);
    const sec = u32(rec, 0);
    const frac = u32(rec, 4);
    const incl = u32(rec, 8);
    const orig = u32(rec, 12);
    if (incl > 0x4000000) throw new PcapFormatError(`${path}: byte offset ${r.offset - 16}: packet length ${incl} is not plausible`);
    if (!r.ensure(incl)) return; // truncated file: stop at the last whole packet
    yield { sec, nsec: nano ? frac : frac * 1000, linkType, data: r.view(incl), origLen: orig };
  }
}

function* readPcapng(path: string, r: ChunkReader): Generator<Packet, void, undefined> {
  let le = true;
  let interfaces: Interface[] = [];
  while (r.ensure(12)) {
    const head = r.view(8);
    let type = head.readUInt32LE(0);
    if (type === 0x0a0d0d0a) {
      // Section header: its byte-order magic decides how the rest of the section reads.
      if (!r.ensure(4)) return;
      const bom = r.view(4);
      le = bom.readUInt32LE(0) === 0x1a2b3c4d;
      if (!le && bom.readUInt32BE(0) !== 0x1a2b3c4d) throw new PcapFormatError(`${path}: byte offset ${r.offset - 4}: bad pcapng byte-order magic`);
      interfaces = [];
      const total = le ? head.readUInt32LE(4) : head.readUInt32BE(4);
      if (total < 28 || !r.ensure(total - 12)) return;
      r.view(total - 12);
      continue;
    }
    if (!le) type = head.readUInt32BE(0);
    const total = le ? head.readUInt32LE(4) : head.readUInt32BE(4);
    if (total < 12 || total % 4 !== 0 || total > 0x4000000) throw new PcapFormatError(`${path}: byte offset ${r.offset - 8}: bad pcapng block length ${total}`);
    if (!r.ensure(total - 8)) return;
    const body = r.view(total - 8);
    const u16 = (o: number): number => (le ? body.readUInt16LE(o) : body.readUInt16BE(o));
    const u32 = (o: number): number => (le ? body.readUInt32LE(o) : body.readUInt32BE(o));
    const bodyLen = total - 12;
    if (type === 1) {
      interfaces.push({ linkType: u16(0), unitsPerSecond: tsResolution(body, 8, bodyLen, le) });
    } else if (type === 6 || type === 2) {
      // enhanced packet block (6) or the obsolete packet block (2): same layout where it matters
      const ifId = type === 6 ? u32(0) : u16(0);
      const iface = interfaces[ifId];
      if (!iface) continue;
      const ts = (BigInt(u32(4)) << 32n) | BigInt(u32(8));
      const incl = u32(12);
      const orig = u32(16);
      if (20 + incl > bodyLen) continue;
      const sec = ts / iface.unitsPerSecond;
      const frac = ts % iface.unitsPerSecond;
      yield { sec: Number(sec), nsec: Number((frac * 1_000_000_000n) / iface.unitsPerSecond), linkType: iface.linkType, data: body.subarray(20, 20 + incl), origLen: orig };
    } else if (type === 3) {
      const iface = interfaces[0];
      if (!iface) continue;
      const orig = u32(0);
      const incl = Math.min(orig, bodyLen - 4);
      yield { sec: 0, nsec: 0, linkType: iface.linkType, data: body.subarray(4, 4 + incl), origLen: orig };
    }
  }
}

/** The if_tsresol option (code 9) of an interface description block; microseconds by default. */
function tsResolution(body: Buffer, at: number, end: number, le: boolean): bigint {
  while (at + 4 <= end) {
    const code = le ? body.readUInt16LE(at) : body.readUInt16BE(at);
    const len = le ? body.readUInt16LE(at + 2) : body.readUInt16BE(at + 2);
    if (code === 0) break;
    if (code === 9 && len >= 1) {
      const v = body[at + 4];
      return v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v);
    }
    at += 4 + ((len + 3) & ~3);
  }
  return 1_000_000n;
}
