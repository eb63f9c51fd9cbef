/**
 * A span's time (ns since the epoch, a bigint) as a double, the value
 * Number() gives, without the heap number Number() makes of a bigint: 16
 * bytes per call, two per span ingested, ~3x the time. The bigint's 64 bits
 * are written into a typed array and read back as two 32-bit halves, whose
 * sum hi * 2^32 + lo is rounded once, as Number(ns) rounds.
 */
const wide = new BigUint64Array(1);
const halves = new Uint32Array(wide.buffer);
/** the halves' order in memory */
const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HIGH = 1 - LOW;
const TWO_64 = 2n ** 64n;

export function nsNumber(ns: bigint): number {
  if (typeof ns !== 'bigint' || ns < 0n || ns >= TWO_64) return Number(ns);
  wide[0] = ns;
  return halves[HIGH] * 4294967296 + halves[LOW];
}
