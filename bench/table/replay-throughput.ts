/**
 * Full-pipeline throughput on one core: traffic recorded from the demo system
 * (or, where it cannot be recorded, a committed capture) replayed through the
 * full chain in a child process pinned with taskset.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../../core/project-root';
import { checkout, startDemoSystem } from '../../demo/system';
import { missingPrograms } from '../../test/helpers/servers';
import { runPinned } from '../lib/child';
import { startEspan, type EspanProcess } from '../lib/espan-process';
import type { ReplayChildOutput } from './replay-child';
import type { CommittedCapture, DemoRecording, Outcome, ReplayThroughput } from './results';
import { CHAIN, COMMITTED_CAPTURE, log } from './shared';

export interface ReplayOptions {
  /** how long the demo system is recorded */
  recordSeconds: number;
  /** timed replays, after a warm-up */
  runs: number;
}

const DEMO_CLIENTS = 4;

/**
 * `alsoWithCapture`, when given, runs on the capture replayed (the demo
 * recording, or the committed capture) before a recording is deleted.
 */
export async function replayThroughput(ebpfWhy: string | undefined, opts: ReplayOptions, alsoWithCapture?: (file: string, label: string) => Promise<void>): Promise<Outcome<ReplayThroughput>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-bench-table-'));
  try {
    const missing = missingPrograms('redis-server', 'mariadbd', 'mariadb-install-db', 'python3');
    let file = path.join(dir, 'demo.espcap');
    let source: DemoRecording | CommittedCapture;
    if (ebpfWhy || missing.length) {
      file = path.join(projectRoot(), COMMITTED_CAPTURE);
      source = { path: COMMITTED_CAPTURE, whyNotDemo: ebpfWhy ?? `not installed: ${missing.join(', ')}` };
    } else {
      log(`recording the demo system for ${opts.recordSeconds} s`);
      const { checkouts, checkoutsPerSecond } = await recordDemo(file, opts.recordSeconds);
      source = { checkouts, checkoutsPerSecond, concurrentClients: DEMO_CLIENTS, captureBytes: fs.statSync(file).size };
    }
    log('replaying through the full chain on one core');
    const r = await replayOnOneCore(file, opts.runs);
    await alsoWithCapture?.(file, 'path' in source ? source.path : 'the demo recording above');
    return {
      chain: CHAIN,
      runs: opts.runs,
      warmUpRuns: r.warmUpRuns,
      recordsPerSecond: r.records / r.seconds,
      spansPerSecond: r.spans / r.seconds,
      recordsPerRun: r.records / opts.runs,
      spansPerRun: r.spans / opts.runs,
      source,
    };
  } catch (e) {
    return { outcome: 'failed', why: (e as Error).message.split('\n')[0] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Records demo-system traffic (ebpf → record) into `file` while checkouts run DEMO_CLIENTS at a time. */
export async function recordDemo(file: string, seconds: number): Promise<{ checkouts: number; checkoutsPerSecond: number }> {
  const system = await startDemoSystem();
  let espan: EspanProcess | undefined;
  try {
    espan = await startEspan(`receivers:
  ebpf: {trace_all_processes: false}
exporters:
  record: {path: ${JSON.stringify(file)}}
service:
  pipelines:
    traces: {receivers: [ebpf], exporters: [record]}
`);
    await sleep(1000);
    let checkouts = 0;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    await Promise.all(
      Array.from({ length: DEMO_CLIENTS }, async (_, w) => {
        while (performance.now() < end) {
          await checkout(system.frontPort, 1 + ((checkouts + w) % 3));
          checkouts++;
        }
      }),
    );
    const checkoutsPerSecond = checkouts / ((performance.now() - t0) / 1000);
    await sleep(1000);
    return { checkouts, checkoutsPerSecond };
  } finally {
    await espan?.stop();
    await system.stop();
  }
}

/** Runs replay-child in a process pinned to core 0. */
function replayOnOneCore(file: string, runs: number): Promise<ReplayChildOutput> {
  return runPinned<ReplayChildOutput>(path.join(__dirname, 'replay-child'), [file, String(runs)]);
}
