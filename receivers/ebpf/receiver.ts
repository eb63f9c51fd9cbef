/**
 * The `ebpf` receiver: loads the probe, keeps its process and connection
 * filters current, and turns each batch the addon hands over into records.
 */
import { Subject, type Observable } from 'rxjs';
import type { ComponentContext, Receiver } from '../../core/component';
import { localHostInfo } from '../../core/host';
import { DecodeCache, layoutMismatch } from '../../core/records/network-data';
import type { NetworkRecord } from '../../core/signals';
import { decodeBatch } from './decode';
import type { EbpfConfig } from './config';
import { EbpfUnavailableError, PidVerdict, defaultObjectPath, loadAddon, preflight, type NativeProbe, type ProbeStats } from './native';
import { ProcessTracker, type ProcessSelection } from './processes';
import { TlsAttacher } from './tls';
import { GoAttacher } from './go';
import { LoopAttacher } from './event-loop';
import { tracedProcesses } from './executables';
import { batchItems } from '../../core/batching';

/** Bytes of one hand-over from the reader thread: large enough that JavaScript is called rarely. */
const MAX_BATCH_BYTES = 1 << 20;
const STATS_INTERVAL_MS = 1000;
/** How often processes that exec'd are looked at for TLS libraries: a short-lived client of a new library is caught only if it lives longer. */
const TLS_EXEC_POLL_MS = 100;

export class EbpfReceiver implements Receiver<'records'> {
  private readonly incoming = new Subject<NetworkRecord[]>();
  readonly output: Observable<NetworkRecord[]>;
  private probe?: NativeProbe;
  private tracker?: ProcessTracker;
  private scanTimer?: NodeJS.Timeout;
  private statsTimer?: NodeJS.Timeout;
  private tlsTimer?: NodeJS.Timeout;
  private tls?: TlsAttacher;
  private go?: GoAttacher;
  /** libuv loops' end-of-poll-phase uprobes: only where the loops' waits are seen (syscall tracepoints) */
  private loops?: LoopAttacher;
  private lastStats: ProbeStats | undefined;
  private readonly countKernelDrops: (n: number, labels?: Record<string, string>) => void;
  private readonly countDecodeFailures: (n: number, labels?: Record<string, string>) => void;
  private readonly countDelivered: (n: number, labels?: Record<string, string>) => void;
  private readonly countTlsCiphertext: (n: number, labels?: Record<string, string>) => void;
  private stopped = false;

  constructor(
    private readonly config: EbpfConfig,
    private readonly ctx: ComponentContext,
  ) {
    const { max_batch_size: max, timeout } = config.batch;
    // With the default timeout 0 each drain goes on as it is: holding its records for a larger batch carries
    // them past a scavenge into the old generation, with their 1 MiB buffers, which costs more than handling them.
    this.output = this.incoming.pipe(batchItems({ sendBatchSize: max, sendBatchMaxSize: max, timeoutMs: timeout }));
    const t = ctx.telemetry;
    this.countKernelDrops = t.counter('espan_ebpf_kernel_dropped_records_total', 'Records the probe lost in the kernel, by reason (ring_buffer_full, call_table_full).', ['reason']);
    this.countDecodeFailures = t.counter('espan_ebpf_decode_failures_total', 'Records from the probe that could not be decoded, by reason.', ['reason']);
    this.countDelivered = t.counter('espan_ebpf_delivered_records_total', 'Records handed from the kernel ring buffer to JavaScript.');
    this.countTlsCiphertext = t.counter('espan_ebpf_tls_ciphertext_records_total', 'Socket calls of TLS connections the probe did not send: their plaintext is sent instead.');
  }

  selection(): ProcessSelection {
    const c = this.config;
    return {
      traceAll: c.trace_all_processes,
      serviceEnvVars: c.service_env_vars,
      includeComms: c.include_comms,
      excludeComms: c.exclude_comms,
      includePids: c.include_pids,
      excludePids: c.exclude_pids,
      selfPid: process.pid,
    };
  }

  async start(): Promise<void> {
    const c = this.config;
    const objectPath = c.object_path || defaultObjectPath();
    preflight(objectPath);
    const addon = loadAddon();
    const mismatch = layoutMismatch(addon.layout());
    if (mismatch) {
      throw new EbpfUnavailableError('layout', `the native addon was built for another network_data layout (${mismatch}): rebuild it with scripts/build-native.sh`);
    }
    let probe: NativeProbe;
    try {
      probe = new addon.Probe({
        objectPath,
        tracepoints: c.tracepoints,
        ringBufferSize: c.ring_buffer_size,
        pollIntervalMs: Math.max(1, Math.round(c.poll_interval)),
        maxBatchBytes: MAX_BATCH_BYTES,
        maxQueuedBatches: c.max_queued_batches,
        tls: c.tls.enabled,
      });
    } catch (e) {
      throw new EbpfUnavailableError('load', `the eBPF probe did not load: ${(e as Error).message}`);
    }
    this.probe = probe;
    const sel = this.selection();
    for (const comm of c.include_comms) probe.setComm(comm, PidVerdict.INCLUDE);
    for (const comm of c.exclude_comms) probe.setComm(comm, PidVerdict.EXCLUDE);
    for (const pid of c.include_pids) probe.setPid(pid, PidVerdict.INCLUDE);
    for (const pid of c.exclude_pids) probe.setPid(pid, PidVerdict.EXCLUDE);
    this.tracker = new ProcessTracker(sel, {
      setPid: (pid, v) => probe.setPid(pid, v === 'include' ? PidVerdict.INCLUDE : PidVerdict.EXCLUDE),
      deletePid: (pid) => probe.deletePid(pid),
    });
    const found = this.tracker.scan();
    probe.configure({
      selfPid: process.pid,
      traceAll: c.trace_all_processes,
      filterComms: c.include_comms.length + c.exclude_comms.length > 0,
      captureSize: c.capture_size,
      wakeupBytes: c.wakeup_size,
      ports: c.ports,
      netns: c.netns,
    });
    const host = localHostInfo();
    const strings = new DecodeCache();
    try {
      probe.start((buf, offsets) => {
        const { records, failures } = decodeBatch(buf, offsets, host, strings);
        for (const [reason, n] of failures) {
          this.countDecodeFailures(n, { reason });
          this.ctx.telemetry.refused(n, 'records', reason);
        }
        this.countDelivered(offsets.length - 1);
        if (records.length) this.incoming.next(records);
      });
    } catch (e) {
      throw new EbpfUnavailableError('load', `the eBPF probe did not attach: ${(e as Error).message}`);
    }
    if (c.tls.enabled) {
      this.tls = new TlsAttacher(probe, c.tls, (msg, fields) => this.ctx.logger.warn(msg, fields));
      this.tls.start();
      this.tlsTimer = setInterval(() => this.tls?.poll(), TLS_EXEC_POLL_MS);
      this.tlsTimer.unref();
    }
    if (c.go.enabled) {
      const countGo = this.ctx.telemetry.counter('espan_ebpf_go_processes_total', 'Go processes found, by whether their goroutines are followed (traced) or not (unsupported: see the log).', ['result']);
      const log = this.ctx.logger;
      this.go = new GoAttacher(probe, {
        process: (result) => countGo(1, { result }),
        unsupported: (msg, fields) => log.warn(msg, fields),
        traced: (fields) => log.info("Go program's goroutines followed", fields),
      }, (pid) => this.tracker?.traced(pid) ?? false);
    }
    if (probe.tracepoints() === 'syscall') {
      const log = this.ctx.logger;
      this.loops = new LoopAttacher(
        probe,
        (pid) => this.tracker?.traced(pid) ?? false,
        (executable) => log.info("libuv event loop's poll phases followed", { executable }),
        (executable, error) => log.warn("libuv event loop's poll phases not followed: its calls are not linked by ticks", { executable, error }),
      );
    }
    this.scanExecutables();
    this.ctx.logger.info('eBPF capture started', {
      tracepoints: probe.tracepoints(),
      trace_all_processes: c.trace_all_processes,
      processes_selected: found.included,
      processes_excluded: found.excluded,
      tls_files_probed: this.tls?.probed.map((f) => f.path),
    });
    this.scanTimer = setInterval(() => {
      this.tracker?.scan();
      this.scanExecutables();
    }, c.process_scan_interval);
    this.scanTimer.unref();
    this.statsTimer = setInterval(() => this.reportStats(), STATS_INTERVAL_MS);
    this.statsTimer.unref();
  }

  /** Kernel-side counters since start. */
  stats(): ProbeStats | undefined {
    return this.probe?.stats();
  }

  /** The files whose TLS functions are probed (TLS capture on). */
  tlsProbed(): ReadonlyArray<{ path: string; functions: string[] }> {
    return this.tls?.probed ?? [];
  }

  /** Looks at processes that exec'd now instead of at the next poll. */
  pollTls(): void {
    this.tls?.poll();
  }

  /** The addon, for benchmarks that read per-program run time. */
  nativeProbe(): NativeProbe | undefined {
    return this.probe;
  }

  /** The per-executable uprobes (Go runtime, libuv loops) on what traced processes run: one pass over /proc for both. */
  private scanExecutables(): void {
    if (!this.go && !this.loops) return;
    const processes = tracedProcesses((pid) => this.tracker?.traced(pid) ?? false);
    this.go?.scan(processes);
    this.loops?.scan(processes);
  }

  private reportStats(): void {
    if (!this.probe) return;
    const s = this.probe.stats();
    const prev = this.lastStats;
    const ring = s.ringBufferFull - (prev?.ringBufferFull ?? 0);
    const calls = s.callTableFull - (prev?.callTableFull ?? 0);
    const tlsLost = s.tlsNoConnection - (prev?.tlsNoConnection ?? 0);
    const ciphertext = s.tlsCiphertext - (prev?.tlsCiphertext ?? 0);
    if (ring > 0) this.countKernelDrops(ring, { reason: 'ring_buffer_full' });
    if (calls > 0) this.countKernelDrops(calls, { reason: 'call_table_full' });
    if (tlsLost > 0) this.countKernelDrops(tlsLost, { reason: 'tls_no_connection' });
    if (ciphertext > 0) this.countTlsCiphertext(ciphertext);
    if (ring > 0 || calls > 0 || tlsLost > 0) this.ctx.logger.warn('the kernel dropped records', { ring_buffer_full: ring, call_table_full: calls, tls_no_connection: tlsLost });
    this.lastStats = s;
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.scanTimer);
    clearInterval(this.statsTimer);
    clearInterval(this.tlsTimer);
    if (this.probe) {
      await this.probe.stop();
      this.reportStats();
    }
    this.incoming.complete();
  }
}
