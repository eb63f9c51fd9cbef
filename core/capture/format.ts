/**
 * The espan capture file: raw network_data records as the probe produced them.
 * Documented in docs/capture-format.md. Little-endian throughout.
 *
 *   file   = header frame*
 *   header = "ESPANCAP" u16 version u16 flags u32 n  JSON[n]
 *   frame  = u32 FRAME_MARK  u32 length  u32 crc32(record)  record[length]
 *
 * The frame mark and CRC let a reader resynchronise after a corrupt frame.
 */
import * as fs from 'node:fs';
import type { HostInfo, NetworkRecord } from '../signals';
import { crc32 } from './crc32';
import { captureAddon, type CaptureAddon } from './native-frames';
import {
  DecodeCache,
  encodeRecord,
  encodedSize,
  layoutMismatch,
  NETWORK_DATA_LAYOUT,
  RecordView,
  recordBatch,
  recordError,
  type RecordBatch,
  type RecordLayout,
} from '../records/network-data';

export const FILE_MAGIC = 'ESPANCAP';
export const FORMAT_VERSION = 1;
/** "ECR1" read as a little-endian u32 */
export const FRAME_MARK = 0x31524345;
export const FRAME_HEADER_SIZE = 12;
/** A frame longer than this is corruption, not a record. */
export const MAX_RECORD_SIZE = 1 << 20;

export interface CaptureHeader {
  layout: RecordLayout;
  host: { hostId: string; hostName: string; bootTimeUnixNano: string };
  createdAt: string;
  generator: string;
}

export class CaptureFormatError extends Error {
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${path}: byte offset ${offset}: ${reason}`);
  }
}

export function hostFromHeader(h: CaptureHeader): HostInfo {
  return { hostId: h.host.hostId, hostName: h.host.hostName, bootTimeUnixNano: BigInt(h.host.bootTimeUnixNano) };
}

export function encodeHeader(host: HostInfo, generator: string, layout: RecordLayout = NETWORK_DATA_LAYOUT): Buffer {
  const header: CaptureHeader = {
    layout,
    host: { hostId: host.hostId, hostName: host.hostName, bootTimeUnixNano: host.bootTimeUnixNano.toString() },
    createdAt: new Date().toISOString(),
    generator,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(16 + json.length);
  out.write(FILE_MAGIC, 0, 'latin1');
  out.writeUInt16LE(FORMAT_VERSION, 8);
  out.writeUInt16LE(0, 10);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, 16);
  return out;
}

/** Encodes records as frames into one buffer: one write per batch. */
export function encodeFrames(records: readonly NetworkRecord[]): Buffer {
  let total = 0;
  for (const r of records) total += FRAME_HEADER_SIZE + encodedSize(r);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const r of records) {
    const len = encodeRecord(r, out, at + FRAME_HEADER_SIZE);
    out.writeUInt32LE(FRAME_MARK, at);
    out.writeUInt32LE(len, at + 4);
    out.writeUInt32LE(crc32(out, at + FRAME_HEADER_SIZE, at + FRAME_HEADER_SIZE + len), at + 8);
    at += FRAME_HEADER_SIZE + len;
  }
  return out;
}

/** A damaged stretch of a capture file that the reader skipped. */
export interface CorruptionReport {
  offset: number;
  reason: string;
  /** bytes skipped before the next good frame (or the end of the file) */
  skippedBytes: number;
  /** true when the file simply ends inside a frame */
  truncated: boolean;
}

export interface ParsedHeader {
  header: CaptureHeader;
  host: HostInfo;
  /** byte offset of the first frame */
  dataOffset: number;
}

/** Parses the file header from the first bytes; throws CaptureFormatError with the offset. */
export function parseHeader(path: string, buf: Buffer): ParsedHeader {
  if (buf.length < 16) throw new CaptureFormatError(path, buf.length, `file ends inside the 16-byte header (${buf.length} bytes)`);
  if (buf.toString('latin1', 0, 8) !== FILE_MAGIC) {
    throw new CaptureFormatError(path, 0, `not an espan capture file (magic ${JSON.stringify(buf.toString('latin1', 0, 8))}, expected "${FILE_MAGIC}")`);
  }
  const version = buf.readUInt16LE(8);
  if (version !== FORMAT_VERSION) throw new CaptureFormatError(path, 8, `format version ${version}; this espan reads version ${FORMAT_VERSION}`);
  const n = buf.readUInt32LE(12);
  if (buf.length < 16 + n) throw new CaptureFormatError(path, buf.length, `file ends inside the ${n}-byte JSON header`);
  let header: CaptureHeader;
  try {
    header = JSON.parse(buf.toString('utf8', 16, 16 + n)) as CaptureHeader;
  } catch (e) {
    throw new CaptureFormatError(path, 16, `header JSON does not parse: ${(e as Error).message}`);
  }
  if (!header?.layout?.fields || !header.host) throw new CaptureFormatError(path, 16, 'header lacks "layout" or "host"');
  const mismatch = layoutMismatch(header.layout);
  if (mismatch) throw new CaptureFormatError(path, 16, `record layout differs from this espan's: ${mismatch}`);
  return { header, host: hostFromHeader(header), dataOffset: 16 + n };
}

/** What the records of one capture share: its host, and the strings of its connections and threads. */
export type CaptureStrings = Pick<RecordBatch, 'host' | 'cache'>;

/**
 * Splits frames out of `buf` (which starts at file offset `base`) into `out`,
 * up to `maxRecords` in it, as records read in place (RecordView) from `buf`.
 * Stops at an incomplete frame, unless `final` (no more bytes will come), and
 * returns how many bytes it consumed; the caller keeps the rest for the next
 * chunk. A corrupt frame is skipped by scanning for the next frame mark whose
 * frame checks out, and reported once per damaged stretch.
 * With the capture addon (`addon`), frames are checked a run at a time by it,
 * and only a frame it finds not good (corrupt, incomplete) by frameProblem here.
 */
export function scanFrames(
  buf: Buffer,
  base: number,
  shared: CaptureStrings,
  out: BatchFill,
  onCorrupt: (r: CorruptionReport) => void,
  maxRecords: number,
  final: boolean,
  addon: CaptureAddon | undefined,
): number {
  const batch = recordBatch(buf, shared.host, shared.cache);
  let at = 0;
  /** frames before this offset have the mark, a length and the CRC they should (the addon checked them) */
  let checkedEnd = 0;
  let badSince = -1;
  let badReason = '';
  let badIsTruncation = false;
  while (out.n < maxRecords && at + FRAME_HEADER_SIZE <= buf.length) {
    if (addon !== undefined && at >= checkedEnd) checkedEnd = addon.goodFramesEnd(buf, at, maxRecords - out.n);
    let problem = at < checkedEnd ? undefined : frameProblem(buf, batch.dv, at);
    const length = batch.dv.getUint32(at + 4, true);
    const incomplete = problem === 'incomplete';
    if (incomplete) {
      if (!final) break;
      problem = `file ends inside a frame: ${buf.length - at - FRAME_HEADER_SIZE} of ${length} record bytes present`;
    }
    problem ??= recordError(batch.dv, at + FRAME_HEADER_SIZE, length);
    if (problem === undefined) {
      if (badSince >= 0) {
        onCorrupt({ offset: base + badSince, reason: badReason, skippedBytes: at - badSince, truncated: false });
        badSince = -1;
      }
      out.records[out.n++] = new RecordView(batch, at + FRAME_HEADER_SIZE);
      at += FRAME_HEADER_SIZE + length;
      continue;
    }
    if (badSince < 0) {
      badSince = at;
      badReason = problem;
      badIsTruncation = incomplete;
    }
    // the next frame mark may lie inside this frame's record: what follows is not checked yet
    checkedEnd = 0;
    const next = buf.indexOf(FRAME_MARK_BYTES, at + 1);
    if (next < 0) {
      // Keep the last bytes unless final: a mark may straddle the chunk boundary.
      at = final ? buf.length : Math.max(at + 1, buf.length - 3);
      break;
    }
    at = next;
  }
  if (badSince >= 0) {
    const truncated = final && at >= buf.length && badIsTruncation;
    onCorrupt({ offset: base + badSince, reason: badReason, skippedBytes: at - badSince, truncated });
  }
  return at;
}

/**
 * A batch being filled: its array made at the batch's size (up to
 * MAX_PREALLOCATED), as the ebpf receiver makes its batches, where pushing
 * grew it by copies (~26 bytes a record), and how many records are in it.
 */
export interface BatchFill {
  records: NetworkRecord[];
  n: number;
}

const MAX_PREALLOCATED = 1 << 16;

function batchFill(size: number): BatchFill {
  return { records: new Array<NetworkRecord>(Math.min(size, MAX_PREALLOCATED)), n: 0 };
}

/** The records filled in, the array cut to them. */
function filled(fill: BatchFill): NetworkRecord[] {
  fill.records.length = fill.n;
  return fill.records;
}

const FRAME_MARK_BYTES = (() => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(FRAME_MARK, 0);
  return b;
})();

/** Why the frame at `at` is not good, 'incomplete' when more bytes are needed, or undefined; `dv` views `buf` (one load a word, no Buffer method checks). */
function frameProblem(buf: Buffer, dv: DataView, at: number): string | undefined {
  const mark = dv.getUint32(at, true);
  if (mark !== FRAME_MARK) return `bad frame mark 0x${mark.toString(16).padStart(8, '0')}`;
  const len = dv.getUint32(at + 4, true);
  if (len > MAX_RECORD_SIZE) return `frame length ${len} exceeds ${MAX_RECORD_SIZE}`;
  if (at + FRAME_HEADER_SIZE + len > buf.length) return 'incomplete';
  const want = dv.getUint32(at + 8, true);
  const got = crc32(buf, at + FRAME_HEADER_SIZE, at + FRAME_HEADER_SIZE + len);
  if (want !== got) return `CRC mismatch (stored 0x${want.toString(16)}, computed 0x${got.toString(16)})`;
  return undefined;
}

/** Writes a capture file: header on first use, then one write per batch. */
export class CaptureWriter {
  private fd: number | undefined;
  records = 0;
  bytes = 0;

  constructor(
    readonly path: string,
    private readonly generator: string,
  ) {}

  write(records: readonly NetworkRecord[]): void {
    if (records.length === 0) return;
    if (this.fd === undefined) {
      this.fd = fs.openSync(this.path, 'w');
      this.put(encodeHeader(records[0].host, this.generator));
    }
    this.put(encodeFrames(records));
    this.records += records.length;
  }

  private put(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd!, buf, off, buf.length - off);
    this.bytes += buf.length;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface ReadOptions {
  /** records per yielded batch */
  batchSize?: number;
  /** bytes read from disk at a time */
  chunkSize?: number;
  onCorrupt?: (r: CorruptionReport) => void;
  /** Checks frames with the capture addon where it loads (native-frames.ts; the default), or with JavaScript alone (false). */
  native?: boolean;
}

/**
 * Reads a capture file as batches of records, read in place from the file's
 * bytes (copy one with copyRecord to keep it apart). A bad header throws
 * CaptureFormatError; damaged frames are reported through onCorrupt and skipped.
 */
export async function* readCapture(path: string, opts: ReadOptions = {}): AsyncGenerator<NetworkRecord[], ParsedHeader> {
  const batchSize = opts.batchSize ?? 1024;
  const chunkSize = opts.chunkSize ?? 4 << 20;
  const onCorrupt = opts.onCorrupt ?? (() => {});
  const addon = opts.native === false ? undefined : captureAddon();
  const fh = await fs.promises.open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const first = Buffer.alloc(Math.min(size, 64 << 10));
    await fh.read(first, 0, first.length, 0);
    let parsed: ParsedHeader;
    try {
      parsed = parseHeader(path, first);
    } catch (e) {
      // A JSON header longer than the first read: read exactly that much and retry.
      if (e instanceof CaptureFormatError && first.length >= 16 && first.length < size) {
        const want = 16 + first.readUInt32LE(12);
        const whole = Buffer.alloc(Math.min(size, want));
        await fh.read(whole, 0, whole.length, 0);
        parsed = parseHeader(path, whole);
      } else throw e;
    }
    let pos = parsed.dataOffset;
    let carry: Buffer = Buffer.alloc(0);
    let carryBase = pos;
    let batch = batchFill(batchSize);
    const shared: CaptureStrings = { host: parsed.host, cache: new DecodeCache() };
    for (;;) {
      const final = pos >= size;
      let buf = carry;
      if (!final) {
        // Each chunk is a fresh buffer: yielded records keep views into it. The frame the last chunk
        // cut (the carry, at most one) is copied to its front and the file read in after it, not the
        // whole chunk copied after the carry.
        const chunk = Buffer.allocUnsafe(carry.length + Math.min(chunkSize, size - pos));
        carry.copy(chunk, 0);
        const { bytesRead } = await fh.read(chunk, carry.length, chunk.length - carry.length, pos);
        pos += bytesRead;
        buf = chunk.subarray(0, carry.length + bytesRead);
      }
      let off = 0;
      for (;;) {
        off += scanFrames(buf.subarray(off), carryBase + off, shared, batch, onCorrupt, batchSize, final, addon);
        if (batch.n < batchSize) break;
        yield filled(batch);
        batch = batchFill(batchSize);
      }
      carry = buf.subarray(off);
      carryBase += off;
      if (final) {
        if (carry.length > 0) {
          onCorrupt({ offset: carryBase, reason: `file ends with ${carry.length} bytes, less than a frame header`, skippedBytes: carry.length, truncated: true });
        }
        break;
      }
    }
    if (batch.n) yield filled(batch);
    return parsed;
  } finally {
    await fh.close();
  }
}
