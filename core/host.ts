/** Identity and clock of the local host, attached to every record it captures. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { HostInfo } from './signals';

let cached: HostInfo | undefined;

/**
 * hostId from /etc/machine-id (the OTel host.id convention); the boot time
 * offset turns CLOCK_MONOTONIC record times into Unix times. process.hrtime
 * reads CLOCK_MONOTONIC on Linux, the clock bpf_ktime_get_ns uses.
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
  // performance.timeOrigin is the wall time at process start (sub-ms) and
  // performance.now() the CLOCK_MONOTONIC time elapsed since: their sum read
  // beside hrtime gives the offset without Date.now()'s millisecond steps.
  const mono = process.hrtime.bigint();
  const wall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  const best = wall - mono;
  cached = { hostId: hostId || os.hostname(), hostName: os.hostname(), bootTimeUnixNano: best };
  return cached;
}
