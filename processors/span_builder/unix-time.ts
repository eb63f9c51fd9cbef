/**
 * A message's CLOCK_MONOTONIC nanoseconds as Unix nanoseconds, the bigint a
 * span's times are. `BigInt(ns) + bootTimeUnixNano` makes two bigints per
 * time (the first one garbage at once) through two calls into the runtime;
 * here the 64-bit sum is added as two 32-bit halves of plain numbers and read
 * back once through a BigUint64Array: one bigint, about a third less time.
 */
import type { HostInfo, L7Message } from '../../core/signals';

const TWO_32 = 4294967296;
const TWO_64 = 1n << 64n;

/** the sum's two halves, read as one unsigned 64-bit integer in the platform's byte order */
const HALVES = new Uint32Array(2);
const SUM = new BigUint64Array(HALVES.buffer);
const LOW = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;
const HIGH = 1 - LOW;

export class UnixTime {
  /** the host whose boot time is split below (a span_builder sees one host, a replay a few) */
  private host: HostInfo | undefined;
  private boot = 0n;
  private bootLow = 0;
  private bootHigh = 0;

  /**
   * The span's start: its request's first byte. The message is passed, not
   * the time: a time above V8's small integers handed to a call that is not
   * inlined is boxed into a heap number first (16 bytes of garbage).
   */
  start(m: L7Message): bigint {
    return this.of(m.host, m.reqStart);
  }

  /** The span's end: its response's last byte, else its request's; never before its start. */
  end(m: L7Message): bigint {
    return this.of(m.host, Math.max(m.respEnd ?? m.reqEnd, m.reqStart));
  }

  of(host: HostInfo, monotonicNs: number): bigint {
    if (host !== this.host || host.bootTimeUnixNano !== this.boot) this.split(host);
    const ns = Math.trunc(monotonicNs);
    // outside what the halves hold (never on real clocks): the plain sum
    if (!(ns >= 0 && ns <= Number.MAX_SAFE_INTEGER) || this.bootHigh < 0) return BigInt(ns) + host.bootTimeUnixNano;
    const low = this.bootLow + (ns % TWO_32);
    const high = this.bootHigh + Math.floor(ns / TWO_32) + (low >= TWO_32 ? 1 : 0);
    if (high >= TWO_32) return BigInt(ns) + host.bootTimeUnixNano;
    // a Uint32Array keeps a number modulo 2^32: the carry is in `high`
    HALVES[LOW] = low;
    HALVES[HIGH] = high;
    return SUM[0];
  }

  private split(host: HostInfo): void {
    const boot = host.bootTimeUnixNano;
    this.host = host;
    this.boot = boot;
    const inRange = boot >= 0n && boot < TWO_64;
    this.bootLow = inRange ? Number(boot & 0xffffffffn) : 0;
    this.bootHigh = inRange ? Number(boot >> 32n) : -1;
  }
}
