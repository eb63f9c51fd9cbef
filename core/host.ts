/** Identity and clock of the local host, attached to every record it captures. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { HostInfo } from './signals';

let cached: HostInfo | undefined;

/**
 * hostId from /etc/machine-id (the OTel host.id convention); the boot time
 * offset turns CLOCK_MONOTONIC record times into Unix times. process.hrtime
 * reads CLOCK_MONOTONIC on Linux, the clock bpf_ktime_get_ns uses; taking the
 * closest of a few samples keeps the offset within a few microseconds.
 */
export function localHostInfo(): HostInfo {
  if (cached) return cached;
  let hostId = '';
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      hostId = fs.readFileSync(f, 'utf8').trim();
      if (hostId) break;
    } catch {
      /* try the next */
    }
  }
  let best = 0n;
  let bestGap = Infinity;
  for (let i = 0; i < 5; i++) {
    const a = process.hrtime.bigint();
    const wall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    const b = process.hrtime.bigint();
    const gap = Number(b - a);
    if (gap < bestGap) {
      bestGap = gap;
      best = wall - (a + b) / 2n;
    }
  }
  cached = { hostId: hostId || os.hostname(), hostName: os.hostname(), bootTimeUnixNano: best };
  return cached;
}
