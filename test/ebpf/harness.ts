/** Shared pieces of the real-kernel tests: capture with the ebpf receiver, run the Python workload. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { NetworkRecord } from '../../core/signals';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import type { EbpfConfig } from '../../receivers/ebpf/config';
import { ebpfFactory } from '../../receivers/ebpf/factory';
import { defaultObjectPath, EbpfUnavailableError, loadAddon, preflight } from '../../receivers/ebpf/native';
import { EbpfReceiver } from '../../receivers/ebpf/receiver';
import { configFrom, testContext } from '../helpers/context';

/** Why eBPF capture cannot run here, or undefined when it can. */
export function ebpfUnavailable(): string | undefined {
  try {
    preflight(defaultObjectPath());
    loadAddon();
    return undefined;
  } catch (e) {
    if (e instanceof EbpfUnavailableError) return e.message;
    throw e;
  }
}

export interface Capture {
  receiver: EbpfReceiver;
  metrics: ServiceMetrics;
  /** waits for in-flight records, stops, and returns everything captured */
  stop(): Promise<NetworkRecord[]>;
}

export async function startCapture(raw: Record<string, unknown>): Promise<Capture> {
  const metrics = new ServiceMetrics();
  const receiver = ebpfFactory.create(configFrom<EbpfConfig>(ebpfFactory, raw), testContext('receiver', 'ebpf', metrics)) as EbpfReceiver;
  const records: NetworkRecord[] = [];
  const done = new Promise<void>((resolve, reject) =>
    receiver.output.subscribe({ next: (b) => records.push(...b), complete: resolve, error: reject }),
  );
  await receiver.start();
  return {
    receiver,
    metrics,
    async stop() {
      await receiver.shutdown();
      await done;
      return records;
    },
  };
}

export const WORKLOAD = path.join(__dirname, 'workload.py');

export interface Workload {
  child: ChildProcess;
  /** lets the workload run and resolves with the facts it prints */
  go(): Promise<any>;
}

/** Starts the workload paused (it waits for a line on stdin). `prefix` runs it through e.g. `ip netns exec NS`. */
export function startWorkload(args: string[], env: Record<string, string> = {}, prefix: string[] = []): Workload {
  const argv = [...prefix, 'python3', WORKLOAD, ...args];
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    child,
    async go() {
      child.stdin!.write('go\n');
      const code = await exited;
      if (code !== 0) throw new Error(`workload ${args.join(' ')} failed (${code}): ${err}`);
      return JSON.parse(out);
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
