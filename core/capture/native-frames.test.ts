import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32Tables } from './crc32';
import { encodeFrames, encodeHeader, FRAME_HEADER_SIZE, FRAME_MARK, MAX_RECORD_SIZE, readCapture, type CorruptionReport } from './format';
import { captureAddon } from './native-frames';
import { NETWORK_DATA_LAYOUT } from '../records/network-data';
import { syntheticRecords, TEST_HOST } from '../../test/helpers/records';

const ACT_SIZE = NETWORK_DATA_LAYOUT.fields.find((f) => f.name === 'act_size')!.offset;

/** The frame starts of `data` as written (before any damage). */
function frameStarts(data: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at < data.length; at += FRAME_HEADER_SIZE + data.readUInt32LE(at + 4)) starts.push(at);
  return starts;
}

function restamp(data: Buffer, at: number): void {
  const length = data.readUInt32LE(at + 4);
  data.writeUInt32LE(crc32Tables(data, at + FRAME_HEADER_SIZE, at + FRAME_HEADER_SIZE + length), at + 8);
}

/**
 * Frames with every kind of damage scanFrames tells apart, between good ones: a CRC mismatch, a bad
 * mark, a length over the limit, a record whose act_size does not fit (its CRC right, and a frame
 * mark inside it that starts no good frame), garbage and a partial mark between frames, a good
 * frame whole inside the payload of a damaged one, and a last frame cut short.
 */
function damagedFrames(): Buffer {
  // short payloads keep the file small: it is read once per chunk size
  const records = syntheticRecords(16, 5).map((r) => ({ ...r, payload: r.payload.subarray(0, 24), actSize: Math.min(r.actSize, 24), bufLen: 24 }));
  const hidden = encodeFrames([records[0]]);
  const carrier = records[12];
  carrier.payload = Buffer.concat([carrier.payload, hidden]);
  carrier.actSize = carrier.bufLen = carrier.payload.length;
  const data = encodeFrames(records);
  const starts = frameStarts(data);
  data[starts[2] + FRAME_HEADER_SIZE + 140] ^= 0x20;
  data.writeUInt32LE(0x31524346, starts[4]);
  data.writeUInt32LE(MAX_RECORD_SIZE + 1, starts[6] + 4);
  data.writeInt32LE(100_000, starts[8] + FRAME_HEADER_SIZE + ACT_SIZE);
  data.writeUInt32LE(FRAME_MARK, starts[8] + FRAME_HEADER_SIZE + 132);
  data.writeUInt32LE(150, starts[8] + FRAME_HEADER_SIZE + 136);
  restamp(data, starts[8]);
  data[starts[12] + FRAME_HEADER_SIZE + 1] ^= 0x01;
  const damaged = Buffer.concat([
    data.subarray(0, starts[10]),
    Buffer.alloc(37, 0xa5),
    data.subarray(starts[10], starts[11]),
    Buffer.from('ECR', 'latin1'),
    data.subarray(starts[11]),
  ]);
  return damaged.subarray(0, damaged.length - 25);
}

interface Reading {
  records: string[];
  corrupt: CorruptionReport[];
}

async function read(file: string, chunkSize: number, batchSize: number, native: boolean): Promise<Reading> {
  const out: Reading = { records: [], corrupt: [] };
  for await (const batch of readCapture(file, { chunkSize, batchSize, native, onCorrupt: (r) => out.corrupt.push(r) })) {
    for (const r of batch) out.records.push(`${r.index}:${r.ts}:${Buffer.from(r.payload).toString('hex')}`);
  }
  return out;
}

describe('capture addon (native-frames)', function () {
  const addon = captureAddon();
  let dir: string;
  before(function () {
    if (!addon) this.skip(); // not built here: readCapture reads with JavaScript alone
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-native-frames-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('takes the CRC as the tables do, at every length and alignment', () => {
    const buf = randomBytes(2048);
    for (let start = 0; start < 17; start += 3) {
      for (let len = 0; len <= 1100; len++) {
        const part = buf.subarray(start, start + len);
        expect(addon!.crc32(part), `${start}+${len}`).to.equal(crc32Tables(part));
      }
    }
  });

  it('ends a run of good frames at the first that is not, or after maxFrames', () => {
    const data = encodeFrames(syntheticRecords(6, 2));
    const starts = frameStarts(data);
    expect(addon!.goodFramesEnd(data, 0, Infinity)).to.equal(data.length);
    expect(addon!.goodFramesEnd(data, 0, 4)).to.equal(starts[4]);
    expect(addon!.goodFramesEnd(data, starts[2], 0)).to.equal(starts[2]);
    expect(addon!.goodFramesEnd(data.subarray(0, data.length - 1), starts[1], Infinity)).to.equal(starts[5]);
    data[starts[3] + 8] ^= 1;
    expect(addon!.goodFramesEnd(data, 0, Infinity)).to.equal(starts[3]);
    expect(addon!.goodFramesEnd(data, data.length, Infinity)).to.equal(data.length);
    expect(() => addon!.goodFramesEnd(data, data.length + 1, 1)).to.throw(RangeError);
    expect(() => addon!.goodFramesEnd(new Uint16Array(8) as unknown as Uint8Array, 0, 1)).to.throw(TypeError);
  });

  it('reads what the JavaScript checks read, good, corrupt and truncated, at every chunk split', async () => {
    const file = path.join(dir, 'damaged.espancap');
    const frames = damagedFrames();
    fs.writeFileSync(file, Buffer.concat([encodeHeader(TEST_HOST, 'test'), frames]));
    const whole = await read(file, frames.length + 1, 1024, false);
    // all the damage is seen: 16 frames and the hidden one, less frames 2, 4, 6, 8, 12 and 15 (cut short)
    expect(whole.records).to.have.length(11);
    expect(whole.corrupt.map((c) => c.reason.split(' ')[0])).to.deep.equal(['CRC', 'bad', 'frame', 'act_size', 'bad', 'bad', 'CRC', 'file']);
    expect(await read(file, frames.length + 1, 1024, true)).to.deep.equal(whole);
    for (let chunkSize = 1; chunkSize <= frames.length; chunkSize++) {
      for (const batchSize of chunkSize % 7 === 0 ? [1024, 3] : [1024]) {
        const js = await read(file, chunkSize, batchSize, false);
        expect(await read(file, chunkSize, batchSize, true), `chunk ${chunkSize}, batch ${batchSize}`).to.deep.equal(js);
        expect(js.records, `chunk ${chunkSize}, batch ${batchSize}`).to.deep.equal(whole.records);
      }
    }
  });
});
