/**
 * The native addon (native/) and the compiled probe (bpf/.output/), found
 * relative to this installation, with the checks that turn "cannot run here"
 * into one clear sentence instead of a stack trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RecordLayout } from '../../core/records/network-data';
import { projectRoot } from '../../core/project-root';
import type { GoOffsets } from './go-binary';

export type Tracepoints = 'auto' | 'socket' | 'syscall';

export interface ProbeOptions {
  objectPath: string;
  /** which set of tracepoints the probe attaches to; auto: socket where the kernel has them */
  tracepoints: Tracepoints;
  ringBufferSize: number;
  pollIntervalMs: number;
  maxBatchBytes: number;
  maxQueuedBatches: number;
  /** TLS plaintext capture: loads the uprobe programs (attached with attachTls) and the exec watch */
  tls: boolean;
}

export interface ProbeSettings {
  selfPid: number;
  traceAll: boolean;
  filterComms: boolean;
  captureSize: number;
  wakeupBytes: number;
  ports: number[];
  netns: number[];
}

export interface ProbeStats {
  /** records the kernel lost because the ring buffer was full */
  ringBufferFull: number;
  /** syscalls not recorded because too many were in flight */
  callTableFull: number;
  /** socket calls of TLS connections not sent: their plaintext is */
  tlsCiphertext: number;
  /** plaintext from a TLS library call whose connection was not known: lost */
  tlsNoConnection: number;
  records: number;
  batches: number;
  /** bytes handed to JavaScript: each record's meta and captured payload */
  bytes: number;
  /** bytes of the kernel ring the records took: as reserved, with the ring's 8-byte headers */
  ringBytes: number;
  /** time the reader thread waited for JavaScript to take batches */
  blockedNs: number;
}

export const PidVerdict = { INCLUDE: 1, EXCLUDE: 2 } as const;

export interface NativeProbe {
  configure(settings: ProbeSettings): void;
  setPid(pid: number, verdict: number): boolean;
  deletePid(pid: number): boolean;
  setComm(comm: string, verdict: number): boolean;
  /** attaches and starts the reader; `onBatch` gets the records of one wake-up: offsets has one more entry than records */
  start(onBatch: (buf: Buffer, offsets: Uint32Array) => void): void;
  /** detaches, delivers what the ring still holds, then resolves */
  stop(): Promise<void>;
  stats(): ProbeStats;
  enableRunTimeStats(): boolean;
  programStats(): Array<{ name: string; runCount: number; runTimeNs: number }>;
  /** the set of tracepoints loaded (auto resolved) */
  tracepoints(): 'socket' | 'syscall';
  /** uprobes on the TLS functions the ELF file at `path` defines (after start); an absent function is not an error */
  attachTls(path: string): { functions: string[]; error?: string };
  /** processes that exec'd since the last call (TLS capture only) */
  takeExecs(): number[];
  /** a Go process: where its runtime keeps what the goroutine probes read (go.ts) */
  setGoProcess(pid: number, offsets: GoOffsets): boolean;
  deleteGoProcess(pid: number): boolean;
  /** the goroutine uprobes on a Go executable, at these file offsets of runtime functions; returns an error text or '' */
  attachGo(path: string, gostartcallfn: number, send: number): string;
  /** the event-loop uprobe on libuv's uv__run_check in the ELF file at `path` (event-loop.ts): '' attached, 'absent', or an error text */
  attachLoop(path: string): string;
}

export interface NativeAddon {
  Probe: new (options: ProbeOptions) => NativeProbe;
  layout(): RecordLayout;
  /** whether the running kernel has the socket tracepoints (sock_send_length, sock_recv_length, inet_sock_set_state, tcp_destroy_sock) */
  socketTracepoints(): boolean;
}

/** Why the receiver cannot run on this machine; `reason` is stable for tests and callers. */
export class EbpfUnavailableError extends Error {
  constructor(
    readonly reason: 'platform' | 'privileges' | 'btf' | 'build' | 'layout' | 'load',
    message: string,
  ) {
    super(message);
    this.name = 'EbpfUnavailableError';
  }
}

const BUILD_HINT = 'run `npm run setup` (or scripts/build-native.sh) to build it';

export function defaultObjectPath(): string {
  return path.join(projectRoot(), 'bpf/.output/espan.bpf.o');
}

export function loadAddon(): NativeAddon {
  const file = path.join(projectRoot(), 'native/build/Release/espan_native.node');
  if (!fs.existsSync(file)) throw new EbpfUnavailableError('build', `the native addon ${file} is missing: ${BUILD_HINT}`);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeAddon;
  } catch (e) {
    throw new EbpfUnavailableError('build', `the native addon ${file} does not load (${(e as Error).message.split('\n')[0]}): ${BUILD_HINT}`);
  }
}

/** Effective capability bits of this process (/proc/self/status CapEff). */
function effectiveCaps(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/**
 * Everything that must hold before the probe can load, checked in the order a
 * user would fix them. (The probe attaches to BTF raw tracepoints: tracefs is not needed.)
 */
export function preflight(objectPath: string): void {
  if (process.platform !== 'linux') throw new EbpfUnavailableError('platform', `eBPF capture needs Linux; this is ${process.platform}`);
  const caps = effectiveCaps();
  const has = (c: bigint): boolean => ((caps >> c) & 1n) === 1n;
  if (!(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)))) {
    throw new EbpfUnavailableError(
      'privileges',
      'eBPF capture needs root, or the capabilities CAP_BPF and CAP_PERFMON (e.g. `setcap cap_bpf,cap_perfmon+ep $(command -v node)`)',
    );
  }
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) {
    throw new EbpfUnavailableError('btf', 'this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing; it needs CONFIG_DEBUG_INFO_BTF=y), which the CO-RE probe needs');
  }
  if (!fs.existsSync(objectPath)) throw new EbpfUnavailableError('build', `the BPF object ${objectPath} is missing: ${BUILD_HINT}`);
}
