/**
 * CRC-32 (IEEE 802.3, as zlib and PNG). Node's native `zlib.crc32` (Node ≥ 20.15)
 * costs a few hundred ns per call before its first byte, so it only pays on
 * longer spans: most capture frames are a 128-byte header and a short payload,
 * and those go through slicing-by-8 tables here, as does everything on a Node
 * older than 20.15 (package.json allows ≥ 20.6).
 */
import * as zlib from 'node:zlib';

const nativeCrc32: ((data: Uint8Array) => number) | undefined = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** Below this many bytes the tables are faster than the native call (measured on Node 20.20, x86_64). */
const NATIVE_MIN_BYTES = 512;

/** Eight 256-entry tables back to back: TABLES[k * 256 + b] is byte b's CRC followed by k zero bytes. */
const TABLES: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  if (nativeCrc32 && end - start >= NATIVE_MIN_BYTES) return nativeCrc32(buf.subarray(start, end));
  return crc32Tables(buf, start, end);
}

/** A DataView of the buffer last asked about: a capture chunk's frames are checked one after another. */
let viewed: Uint8Array | undefined;
let view: DataView | undefined;

function viewOf(buf: Uint8Array): DataView {
  if (buf !== viewed || view === undefined) {
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    viewed = buf;
  }
  return view;
}

/** The table-driven CRC, eight bytes a step; exported for the test that checks it against zlib. */
export function crc32Tables(buf: Uint8Array, start = 0, end = buf.length): number {
  const t = TABLES;
  // words read with a DataView: one load each instead of four byte loads and shifts (a quarter faster)
  const dv = viewOf(buf);
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ dv.getInt32(i, true);
    const hi = dv.getInt32(i + 4, true);
    c =
      t[1792 + (lo & 0xff)] ^
      t[1536 + ((lo >>> 8) & 0xff)] ^
      t[1280 + ((lo >>> 16) & 0xff)] ^
      t[1024 + (lo >>> 24)] ^
      t[768 + (hi & 0xff)] ^
      t[512 + ((hi >>> 8) & 0xff)] ^
      t[256 + ((hi >>> 16) & 0xff)] ^
      t[hi >>> 24];
  }
  for (; i < end; i++) c = t[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
