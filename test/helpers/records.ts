/** Synthetic network_data records for tests and benchmarks. */
import { ConnMeta, FuncId } from '../../core/records/network-data';
import type { HostInfo, NetworkRecord } from '../../core/signals';

export const TEST_HOST: HostInfo = { hostId: 'test-host-id', hostName: 'test-host', bootTimeUnixNano: 1_700_000_000_000_000_000n };

/** A deterministic pseudo-random stream (mulberry32): same seed, same records. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` records of HTTP-looking traffic over a few connections, IPv4 and IPv6, some truncated. */
export function syntheticRecords(n: number, seed = 1, host: HostInfo = TEST_HOST): NetworkRecord[] {
  const rnd = prng(seed);
  const out: NetworkRecord[] = [];
  let ts = 1_000_000_000;
  const seqs = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const conn = Math.floor(rnd() * 16);
    const v6 = conn % 4 === 0;
    const egress = rnd() < 0.5;
    const text = egress ? `GET /items/${i} HTTP/1.1\r\nHost: svc\r\n\r\n` : `HTTP/1.1 200 OK\r\nContent-Length: ${i % 100}\r\n\r\n`;
    const payload = Buffer.from(text.repeat(1 + (i % 7)));
    const truncated = i % 50 === 0;
    const act = truncated ? Math.floor(payload.length / 2) : payload.length;
    const seq = seqs.get(conn * 2 + (egress ? 1 : 0)) ?? Math.floor(rnd() * 0xffffffff);
    seqs.set(conn * 2 + (egress ? 1 : 0), (seq + payload.length) >>> 0);
    ts += Math.floor(rnd() * 50_000);
    out.push({
      ts,
      tsTail: ts + 1000 + Math.floor(rnd() * 20_000),
      tid: 1000 + (conn % 5),
      utid: 0,
      pid: 1000,
      comm: `svc-${conn % 3}`,
      connId: (conn + 1).toString(16).padStart(16, '0') + '0000000100000002',
      saddr: v6 ? 'fd00::1' : '10.0.0.1',
      sport: 8080,
      daddr: v6 ? 'fd00::2:3' : '10.0.0.2',
      dport: 40000 + conn,
      netns: 4026531840,
      connMeta: (v6 ? ConnMeta.IPV6 : 0) | ConnMeta.SERVER,
      tcpSeq: seq,
      funcId: egress ? FuncId.WRITE : FuncId.READ,
      fd: 10 + conn,
      bufLen: payload.length,
      actSize: act,
      index: i,
      payload: payload.subarray(0, act),
      host,
    });
  }
  return out;
}
