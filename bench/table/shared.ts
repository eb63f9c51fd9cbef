/**
 * What the table's measurements share: the chain espan runs, espan traced as
 * its own process under a load, and what it produced once it settled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startEspan, type EspanProcess } from '../lib/espan-process';
import type { LoadRun } from '../lib/measure';
import type { Completeness } from './results';

export const CHAIN = ['parse', 'thread_correlation', 'propagation', 'span_builder', 'linking', 'tail_sampling'];

export const PROCESSORS = `processors:
  parse: {}
  thread_correlation: {}
  propagation: {}
  span_builder: {}
  linking: {}
  tail_sampling: {decision_wait: 1s, policies: [{name: all, type: always_sample}]}
exporters:
  nop: {}
`;

/** The full chain to a nop exporter, tracing the processes named `comm` only (not the load generator). */
export function tracedChain(comm: string): string {
  return `receivers:
  ebpf: {trace_all_processes: false, service_env_vars: [], include_comms: [${comm}]}
${PROCESSORS}service:
  pipelines:
    traces: {receivers: [ebpf], processors: [${CHAIN.join(', ')}], exporters: [nop]}
`;
}

export const log = (msg: string): void => void process.stderr.write(`[bench:table] ${msg}\n`);

/** What a traced run produced. */
export interface Counts {
  spans: number;
  records: number;
  kernelDrops: number;
  pipelineDrops: number;
  /** pipeline drops by "component reason" */
  dropReasons: Map<string, number>;
}

/**
 * What a traced run produced once the chain let its last spans through:
 * linking holds spans for its windows and tail_sampling for decision_wait, and
 * an overloaded espan still works off its backlog, so wait until nothing moves.
 */
export async function settledCounts(espan: EspanProcess): Promise<Counts> {
  const progress = async (): Promise<string> =>
    JSON.stringify([
      await espan.metric('espan_processor_incoming_items_total'),
      await espan.metric('espan_exporter_sent_items_total', { exporter: 'nop' }),
      await espan.metric('espan_processor_dropped_items_total'),
    ]);
  const deadline = Date.now() + 40_000;
  let last = '';
  let still = 0;
  await sleep(1500);
  while (Date.now() < deadline && still < 2) {
    const now = await progress();
    still = now === last ? still + 1 : 0;
    last = now;
    await sleep(1500);
  }
  const dropReasons = new Map<string, number>();
  const count = (key: string, n: number): void => void (n > 0 && dropReasons.set(key, (dropReasons.get(key) ?? 0) + n));
  for (const x of await espan.series('espan_processor_dropped_items_total')) count(`${x.labels.processor} ${x.labels.reason}`, x.value);
  for (const x of await espan.series('espan_receiver_refused_items_total')) count(`${x.labels.receiver} refused ${x.labels.reason}`, x.value);
  for (const x of await espan.series('espan_exporter_send_failed_items_total')) count(`${x.labels.exporter} failed ${x.labels.reason}`, x.value);
  return {
    spans: await espan.metric('espan_exporter_sent_items_total', { exporter: 'nop' }),
    records: await espan.metric('espan_ebpf_delivered_records_total'),
    kernelDrops: await espan.metric('espan_ebpf_kernel_dropped_records_total'),
    pipelineDrops: [...dropReasons.values()].reduce((a, b) => a + b, 0),
    dropReasons,
  };
}

export interface TracedRun extends LoadRun, Counts {
  espanCpuMs: number;
}

/** One load while espan, in its own process, traces the processes named `comm` with the full chain. */
export async function traced(comm: string, load: () => Promise<LoadRun>): Promise<TracedRun> {
  const espan = await startEspan(tracedChain(comm));
  try {
    await sleep(500);
    const cpu0 = espan.cpuMs();
    const run = await load();
    const espanCpuMs = espan.cpuMs() - cpu0;
    return { ...run, espanCpuMs, ...(await settledCounts(espan)) };
  } finally {
    await espan.stop();
  }
}

/** Completeness over several runs of `seconds` each: counts summed, drop reasons merged. */
export function completeness(runs: Counts[], requests: number, seconds: number): Completeness {
  const dropReasons = new Map<string, number>();
  for (const r of runs) for (const [k, v] of r.dropReasons) dropReasons.set(k, (dropReasons.get(k) ?? 0) + v);
  return {
    spans: sum(runs, (r) => r.spans),
    requests,
    kernelDrops: sum(runs, (r) => r.kernelDrops),
    pipelineDrops: sum(runs, (r) => r.pipelineDrops),
    dropReasons,
    recordsPerSecond: sum(runs, (r) => r.records) / seconds,
  };
}

export function sum<T>(xs: T[], f: (x: T) => number): number {
  return xs.reduce((s, x) => s + f(x), 0);
}
