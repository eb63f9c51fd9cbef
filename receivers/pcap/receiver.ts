/**
 * The `pcap` receiver: reads pcap/pcapng files (one path or a glob, in name
 * order, as one capture so rotated files continue each other's connections),
 * reassembles TCP, and emits `records` in batches as fast as the pipeline
 * takes them. Completes at the end of the last file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Subject } from 'rxjs';
import type { ComponentContext, Receiver, ReceiverRuntime } from '../../core/component';
import type { HostInfo, NetworkRecord } from '../../core/signals';
import { decodeFrame } from './packet';
import { readPackets } from './pcap-file';
import { TcpReassembler, type Perspective, type ReassemblyCounters, type SideEvidence } from './reassembly';

export interface PcapSettings {
  /** a file, or a glob whose wildcards (*, ?) are in the last path segment */
  path: string;
  batchSize: number;
  perspective: Perspective;
  maxConnections: number;
  maxOutOfOrderBytes: number;
}

/** Files a path or glob names, sorted. */
export function expandPath(p: string): string[] {
  const base = path.basename(p);
  if (!/[*?[]/.test(base)) return [p];
  const dir = path.dirname(p);
  const re = new RegExp(
    '^' +
      base
        .split('')
        .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : /[\\^$.|+(){}[\]]/.test(ch) ? `\\${ch}` : ch))
        .join('') +
      '$',
  );
  return fs
    .readdirSync(dir)
    .filter((f) => re.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export interface PcapStats {
  packets: number;
  notTcp: number;
  gaps: number;
  gapBytes: number;
  retransmittedBytes: number;
  outOfOrder: number;
  records: number;
  /** connections without a captured handshake, by the evidence that chose their server end */
  inferredSides: Partial<Record<SideEvidence, number>>;
}

/**
 * Reads the files and hands records to `onBatch` (awaited between batches):
 * the I/O-free core of the receiver, also used by tests and the benchmark.
 */
export async function readCaptureFiles(files: string[], s: PcapSettings, onBatch: (b: NetworkRecord[]) => Promise<void> | void, counters?: Partial<ReassemblyCounters>): Promise<PcapStats> {
  const stats: PcapStats = { packets: 0, notTcp: 0, gaps: 0, gapBytes: 0, retransmittedBytes: 0, outOfOrder: 0, records: 0, inferredSides: {} };
  const c: ReassemblyCounters = {
    gap: (n) => {
      stats.gaps++;
      stats.gapBytes += n;
      counters?.gap?.(n);
    },
    retransmitted: (n) => {
      stats.retransmittedBytes += n;
      counters?.retransmitted?.(n);
    },
    outOfOrder: () => {
      stats.outOfOrder++;
      counters?.outOfOrder?.();
    },
    evicted: () => counters?.evicted?.(),
    sideInferred: (evidence) => {
      stats.inferredSides[evidence] = (stats.inferredSides[evidence] ?? 0) + 1;
      counters?.sideInferred?.(evidence);
    },
  };
  let reassembler: TcpReassembler | undefined;
  let sec0 = 0;
  let nsec0 = 0;
  let out: NetworkRecord[] = [];
  const send = async (): Promise<void> => {
    if (!out.length) return;
    const b = out;
    out = [];
    stats.records += b.length;
    await onBatch(b);
  };
  for (const file of files) {
    for (const p of readPackets(file)) {
      stats.packets++;
      if (!reassembler) {
        sec0 = p.sec;
        nsec0 = p.nsec;
        const host: HostInfo = {
          hostId: `pcap:${path.basename(file)}`,
          hostName: path.basename(file),
          // record times count from the first packet; this turns them back into Unix times
          bootTimeUnixNano: BigInt(p.sec) * 1_000_000_000n + BigInt(p.nsec),
        };
        reassembler = new TcpReassembler({ perspective: s.perspective, maxConnections: s.maxConnections, maxOutOfOrderBytes: s.maxOutOfOrderBytes }, host, c);
      }
      const seg = decodeFrame(p.linkType, p.data, p.origLen);
      if (typeof seg === 'string') {
        stats.notTcp++;
        continue;
      }
      const ts = (p.sec - sec0) * 1e9 + (p.nsec - nsec0);
      reassembler.add(seg, ts, out);
      if (out.length >= s.batchSize) await send();
    }
  }
  reassembler?.flush(out);
  await send();
  return stats;
}

export class PcapReceiver implements Receiver<'records'> {
  private readonly subject = new Subject<NetworkRecord[]>();
  readonly output = this.subject.asObservable();
  readonly readsFile = true;
  private stopping = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly settings: PcapSettings,
    private readonly ctx: ComponentContext,
  ) {}

  async start(runtime: ReceiverRuntime): Promise<void> {
    const files = expandPath(this.settings.path);
    if (!files.length) throw new Error(`pcap: no file matches ${this.settings.path}`);
    for (const f of files) fs.accessSync(f, fs.constants.R_OK);
    const t = this.ctx.telemetry;
    const gaps = t.counter('espan_pcap_gap_bytes_total', 'TCP payload bytes missing from the capture, reported to parsers as uncaptured.');
    const retrans = t.counter('espan_pcap_retransmitted_bytes_total', 'TCP payload bytes seen twice and dropped.');
    const ooo = t.counter('espan_pcap_out_of_order_segments_total', 'TCP segments that arrived ahead of missing bytes and were held.');
    const evicted = t.counter('espan_pcap_evicted_connections_total', 'Connections dropped because max_connections was reached.');
    const inferred = t.counter('espan_pcap_inferred_sides_total', 'Connections whose handshake was not captured, by the evidence that chose the server end.', ['evidence']);
    this.running = readCaptureFiles(
      files,
      this.settings,
      async (b) => {
        if (this.stopping) return;
        await runtime.waitForCapacity();
        this.subject.next(b);
        await new Promise<void>((resolve) => setImmediate(resolve));
      },
      { gap: (n) => gaps(n), retransmitted: (n) => retrans(n), outOfOrder: () => ooo(1), evicted: () => evicted(1), sideInferred: (evidence) => inferred(1, { evidence }) },
    ).then(
      (stats) => {
        t.refused(stats.notTcp, 'records', 'not_tcp');
        this.ctx.logger.info('pcap read', { path: this.settings.path, files: files.length, ...stats });
        this.subject.complete();
      },
      (e: Error) => {
        this.ctx.logger.error('pcap stopped', { path: this.settings.path, error: e.message });
        this.subject.complete();
      },
    );
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.subject.complete();
  }
}
