import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureFormatError, CaptureWriter, encodeFrames, FRAME_HEADER_SIZE, readCapture, type CorruptionReport } from './format';
import { crc32 } from './crc32';
import { syntheticRecords, TEST_HOST } from '../../test/helpers/records';
import type { NetworkRecord } from '../signals';
import { copyRecord } from '../records/network-data';

async function readAll(file: string, chunkSize?: number): Promise<{ records: NetworkRecord[]; corrupt: CorruptionReport[] }> {
  const records: NetworkRecord[] = [];
  const corrupt: CorruptionReport[] = [];
  for await (const batch of readCapture(file, { chunkSize, onCorrupt: (r) => corrupt.push(r) })) records.push(...batch);
  return { records, corrupt };
}

describe('capture file format', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-capture-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function writeFile(name: string, records: NetworkRecord[]): string {
    const file = path.join(dir, name);
    const w = new CaptureWriter(file, 'test');
    for (let i = 0; i < records.length; i += 1000) w.write(records.slice(i, i + 1000));
    w.close();
    return file;
  }

  it('crc32 matches the IEEE check value', () => {
    expect(crc32(Buffer.from('123456789'))).to.equal(0xcbf43926);
  });

  it('round-trips 100k records byte-exactly, across read chunk boundaries', async () => {
    const original = syntheticRecords(100_000, 7);
    const a = writeFile('a.espancap', original);
    // A small chunk size makes frames straddle chunk boundaries often.
    const { records, corrupt } = await readAll(a, 64 << 10);
    expect(corrupt).to.deep.equal([]);
    expect(records).to.have.length(100_000);
    const b = writeFile('b.espancap', records);
    const bytesA = fs.readFileSync(a);
    const bytesB = fs.readFileSync(b);
    // Headers differ only in createdAt; the frames must be identical.
    const dataA = bytesA.subarray(16 + bytesA.readUInt32LE(12));
    const dataB = bytesB.subarray(16 + bytesB.readUInt32LE(12));
    expect(dataA.equals(dataB)).to.equal(true);
    expect(records[123]).to.deep.include({ ...original[123], payload: records[123].payload });
    expect(Buffer.from(records[123].payload).equals(Buffer.from(original[123].payload))).to.equal(true);
    expect(records[0].host).to.deep.equal(TEST_HOST);
  });

  it('keeps every field of IPv4 and IPv6 records', async () => {
    const [v6] = syntheticRecords(40, 3).filter((r) => r.saddr.includes(':'));
    const [v4] = syntheticRecords(40, 3).filter((r) => !r.saddr.includes(':'));
    const file = writeFile('fields.espancap', [v4, v6]);
    const { records } = await readAll(file);
    for (const [got, want] of [[records[0], v4], [records[1], v6]]) {
      // records are read in place (getters): copy one to compare its fields
      const { payload: gp, host: gh, ...g } = copyRecord(got);
      const { payload: wp, host: wh, ...w } = want;
      expect(g).to.deep.equal(w);
      expect(Buffer.from(gp).equals(Buffer.from(wp))).to.equal(true);
      expect(gh).to.deep.equal(wh);
    }
  });

  it('rejects a file that is not a capture, naming the offset', async () => {
    const file = path.join(dir, 'foreign.bin');
    fs.writeFileSync(file, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    try {
      await readAll(file);
      expect.fail('should throw');
    } catch (e) {
      expect(e).to.be.instanceOf(CaptureFormatError);
      expect((e as Error).message).to.equal(`${file}: byte offset 0: not an espan capture file (magic "GET / HT", expected "ESPANCAP")`);
    }
  });

  it('rejects a file cut inside its header', async () => {
    const full = fs.readFileSync(writeFile('h.espancap', syntheticRecords(1)));
    const file = path.join(dir, 'short-header.espancap');
    fs.writeFileSync(file, full.subarray(0, 40));
    try {
      await readAll(file);
      expect.fail('should throw');
    } catch (e) {
      expect((e as Error).message).to.match(/byte offset 40: file ends inside the \d+-byte JSON header$/);
    }
  });

  it('reports a truncated last record with its offset and keeps the rest', async () => {
    const full = fs.readFileSync(writeFile('t.espancap', syntheticRecords(100)));
    const file = path.join(dir, 'truncated.espancap');
    fs.writeFileSync(file, full.subarray(0, full.length - 30));
    const { records, corrupt } = await readAll(file);
    expect(records).to.have.length(99);
    expect(corrupt).to.have.length(1);
    expect(corrupt[0].truncated).to.equal(true);
    expect(corrupt[0].reason).to.match(/^file ends inside a frame: \d+ of \d+ record bytes present$/);
    expect(corrupt[0].offset + corrupt[0].skippedBytes).to.equal(full.length - 30);
  });

  it('skips a corrupt record, resynchronises and counts it', async () => {
    const original = syntheticRecords(50);
    const file = writeFile('c.espancap', original);
    const bytes = fs.readFileSync(file);
    const dataStart = 16 + bytes.readUInt32LE(12);
    // Flip a payload byte of record 10 (CRC mismatch) and smash the frame mark of record 30.
    const offsets: number[] = [];
    for (let at = dataStart, i = 0; i < 50; i++) {
      offsets.push(at);
      at += FRAME_HEADER_SIZE + bytes.readUInt32LE(at + 4);
    }
    bytes[offsets[10] + FRAME_HEADER_SIZE + 130] ^= 0xff;
    bytes.writeUInt32LE(0xdeadbeef, offsets[30]);
    fs.writeFileSync(file, bytes);
    const { records, corrupt } = await readAll(file);
    expect(records.map((r) => r.index)).to.deep.equal(original.map((r) => r.index).filter((i) => i !== 10 && i !== 30));
    expect(corrupt.map((c) => [c.offset, c.skippedBytes, c.truncated])).to.deep.equal([
      [offsets[10], offsets[11] - offsets[10], false],
      [offsets[30], offsets[31] - offsets[30], false],
    ]);
    expect(corrupt[0].reason).to.match(/^CRC mismatch/);
    expect(corrupt[1].reason).to.equal('bad frame mark 0xdeadbeef');
  });

  it('survives a frame length that points past the end of the file', async () => {
    const original = syntheticRecords(5);
    const frames = encodeFrames(original);
    const file = writeFile('len.espancap', original);
    const bytes = fs.readFileSync(file);
    const dataStart = 16 + bytes.readUInt32LE(12);
    bytes.writeUInt32LE(frames.length * 4, dataStart + 4); // first frame claims a huge length
    fs.writeFileSync(file, bytes);
    const { records, corrupt } = await readAll(file);
    expect(records.map((r) => r.index)).to.deep.equal([1, 2, 3, 4]);
    expect(corrupt).to.have.length(1);
    expect(corrupt[0].offset).to.equal(dataStart);
  });
});
