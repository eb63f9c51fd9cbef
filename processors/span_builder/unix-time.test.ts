import { expect } from 'chai';
import type { HostInfo } from '../../core/signals';
import { UnixTime } from './unix-time';

const host = (bootTimeUnixNano: bigint, hostId = 'h'): HostInfo => ({ hostId, hostName: hostId, bootTimeUnixNano });
const plain = (h: HostInfo, ns: number): bigint => BigInt(Math.trunc(ns)) + h.bootTimeUnixNano;

describe('span_builder unix time', () => {
  it('is the boot time plus the monotonic time, with and without a carry between the halves, on every host', () => {
    const t = new UnixTime();
    const hosts = [host(1_796_285_000_123_456_789n, 'a'), host(0n, 'b'), host((1n << 32n) - 1n, 'c'), host(0xffff_fff0_ffff_ffffn, 'd'), host(1n << 63n, 'e')];
    const times = [0, 1, 0.5, 12_345.9, 4294967295, 4294967296, 4294967297, 272_651_727_755, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 2000; i++) times.push(Math.floor(Math.random() * 2 ** 48));
    for (const ns of times) for (const h of hosts) expect(t.of(h, ns)).to.equal(plain(h, ns), `${h.hostId} + ${ns}`);
  });

  it('sums the plain way where the halves cannot hold it', () => {
    const t = new UnixTime();
    const past = host((1n << 64n) - 10n);
    expect(t.of(past, 20)).to.equal((1n << 64n) + 10n);
    const negative = host(-5n);
    expect(t.of(negative, 3)).to.equal(-2n);
    const h = host(1_000n);
    for (const ns of [-7, 2 ** 60, 2 ** 53 + 2]) expect(t.of(h, ns)).to.equal(plain(h, ns));
  });

  it('follows a host whose boot time is set again', () => {
    const t = new UnixTime();
    const h = host(1_000n);
    expect(t.of(h, 5)).to.equal(1_005n);
    h.bootTimeUnixNano = 2_000n;
    expect(t.of(h, 5)).to.equal(2_005n);
  });
});
