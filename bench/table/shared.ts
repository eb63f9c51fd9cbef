/**
 * What the table's measurements share: the chain espan runs, espan traced as
 * its own process under a load, and what it produced once it settled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../core/config/load';
import type { BatchConfig } from '../../processors/batch/factory';
import type { LinkingConfig } from '../../processors/linking/config';
import type { TailSamplingConfig } from '../../processors/tail_sampling/config';
import type { ThreadCorrelationConfig } from '../../processors/thread_correlation/config';
import { defaultRegistry } from '../../registry';
import { startEspan, type EspanProcess } from '../lib/espan-process';
import { childrenOf, type LoadRun } from '../lib/measure';
import type { Completeness } from './results';

/** Replayed where no other capture is given or can be recorded: two network namespaces plus an SDK client (test/linking/record-capture.ts). */
export const COMMITTED_CAPTURE = 'bench/testdata/linking-two-hosts.espcap';

export const CHAIN = ['parse', 'thread_correlation', 'propagation', 'span_builder', 'linking', 'tail_sampling'];

export const PROCESSORS = `processors:
  parse: {}
  thread_correlation: {}
  propagation: {}
  span_builder: {}
  linking: {}
  tail_sampling: {decision_wait: 1s, policies: [{name: all, type: always_sample}]}
`;

export const NOP_EXPORTER = `exporters:
  nop: {}
`;

/**
 * The bench's own server: its process and its children (nginx's workers), by
 * pid, so that other processes of the same name on the machine (another
 * bench, a system nginx) are not traced and counted with it.
 */
export function serverPids(pid: number): number[] {
  return [pid, ...childrenOf(pid)];
}

/** The ebpf receiver tracing `pids` only (not the load generator). */
export function receiverOf(pids: number[]): { trace_all_processes: false; service_env_vars: []; include_pids: number[] } {
  return { trace_all_processes: false, service_env_vars: [], include_pids: pids };
}

/** The full chain to a nop exporter, tracing `pids` only. */
export function tracedChain(pids: number[]): string {
  return `receivers:
  ebpf: ${JSON.stringify(receiverOf(pids))}
${PROCESSORS}${NOP_EXPORTER}service:
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
 * How long the chain of `yaml` may hold an item after its last input, in ms:
 * thread_correlation's wait, linking's windows (a span waits for its window
 * to close, then link_windows more) and clock skew, tail_sampling's
 * decision_wait and batch's timeout, one after the other.
 */
export function holdingMs(yaml: string): number {
  const holds: Record<string, (config: never) => number> = {
    thread_correlation: (c: ThreadCorrelationConfig) => c.wait,
    linking: (c: LinkingConfig) => c.link_window * (c.link_windows + 1) + c.max_clock_skew,
    tail_sampling: (c: TailSamplingConfig) => c.decision_wait,
    batch: (c: BatchConfig) => c.timeout,
  };
  let ms = 0;
  for (const c of parseConfig(yaml, 'bench.yaml', defaultRegistry(), {}).components.values()) ms += holds[c.type]?.(c.config as never) ?? 0;
  return ms;
}

/** When a traced run's output is complete. */
export interface Settling {
  /** requests the load answered: once as many spans are out, the rest is stragglers */
  requests: number;
  /** holdingMs of the chain (of the chains, when items cross processes) */
  holdingMs: number;
}

const SETTLE_POLL_MS = 1000;
/** beyond the holding time: timers fire late on a loaded machine */
const SETTLE_MARGIN_MS = 2000;
/** an overloaded espan may still work off its backlog for this long */
const SETTLE_BACKLOG_MS = 60_000;

/**
 * Waits until a traced run's output is complete: `progress` (its counters,
 * as a string, and the spans exported) has not moved for longer than the
 * chain holds an item, or the spans reached the requests and stopped moving;
 * at most the holding time plus SETTLE_BACKLOG_MS.
 */
export async function waitSettled(progress: () => Promise<{ counters: string; spans: number }>, s: Settling): Promise<void> {
  const quietEnough = s.holdingMs + SETTLE_MARGIN_MS;
  const deadline = Date.now() + quietEnough + SETTLE_BACKLOG_MS;
  let last = '';
  let lastMoved = Date.now();
  while (Date.now() < deadline) {
    await sleep(SETTLE_POLL_MS);
    const now = await progress();
    if (now.counters !== last) {
      last = now.counters;
      lastMoved = Date.now();
    } else if (now.spans >= s.requests || Date.now() - lastMoved > quietEnough) {
      return;
    }
  }
}

/** Pipeline drops of one espan by "component reason": processors dropped, receivers refused, exporters failed. */
export async function dropReasonsOf(espan: EspanProcess, into = new Map<string, number>()): Promise<Map<string, number>> {
  const count = (key: string, n: number): void => void (n > 0 && into.set(key, (into.get(key) ?? 0) + n));
  for (const x of await espan.series('espan_processor_dropped_items_total')) count(`${x.labels.processor} ${x.labels.reason}`, x.value);
  for (const x of await espan.series('espan_receiver_refused_items_total')) count(`${x.labels.receiver} refused ${x.labels.reason}`, x.value);
  for (const x of await espan.series('espan_exporter_send_failed_items_total')) count(`${x.labels.exporter} failed ${x.labels.reason}`, x.value);
  return into;
}

/** What espan's counters say moved: items into processors, out of exporters, dropped. */
export async function movement(espan: EspanProcess): Promise<number[]> {
  return [
    await espan.metric('espan_processor_incoming_items_total'),
    await espan.metric('espan_exporter_sent_items_total'),
    await espan.metric('espan_processor_dropped_items_total'),
  ];
}

/** Nothing counted yet: what a fresh espan's counters start from. */
export const NO_COUNTS: Counts = { spans: 0, records: 0, kernelDrops: 0, pipelineDrops: 0, dropReasons: new Map() };

/** What one load added: `now` less the counts `before` it. */
export function countsSince(now: Counts, before: Counts): Counts {
  const dropReasons = new Map<string, number>();
  for (const [k, v] of now.dropReasons) if (v > (before.dropReasons.get(k) ?? 0)) dropReasons.set(k, v - (before.dropReasons.get(k) ?? 0));
  return {
    spans: now.spans - before.spans,
    records: now.records - before.records,
    kernelDrops: now.kernelDrops - before.kernelDrops,
    pipelineDrops: now.pipelineDrops - before.pipelineDrops,
    dropReasons,
  };
}

/** What a traced run of the full chain to nop produced, since `before`, once the chain let its last spans through. */
export async function settledCounts(espan: EspanProcess, settling: Settling, before = NO_COUNTS): Promise<Counts> {
  const spans = (): Promise<number> => espan.metric('espan_exporter_sent_items_total', { exporter: 'nop' });
  await waitSettled(async () => ({ counters: JSON.stringify(await movement(espan)), spans: (await spans()) - before.spans }), settling);
  const dropReasons = await dropReasonsOf(espan);
  const now = {
    spans: await spans(),
    records: await espan.metric('espan_ebpf_delivered_records_total'),
    kernelDrops: await espan.metric('espan_ebpf_kernel_dropped_records_total'),
    pipelineDrops: sum([...dropReasons.values()], (n) => n),
    dropReasons,
  };
  return countsSince(now, before);
}

/**
 * The load espan traced before the measured one, started with espan: what
 * espan's first requests cost while V8 compiles its hot code, apart from the
 * steady cost per request that the measured load gives.
 */
export interface WarmUp {
  requests: number;
  /** from espan's start (after its set-up) until the warm-up's spans were out */
  espanCpuMs: number;
  kernelDrops: number;
}

export interface TracedRun extends LoadRun, Counts {
  /** CPU of the espan process that traces (the agent, in the agent role), from the load's start until its spans were out */
  espanCpuMs: number;
  /** likewise of the linker the agent exports to, in the agent role */
  linkerCpuMs?: number;
  warmUp: WarmUp;
}

/** How a role traces: a warm-up load, then the measured one, in one espan (per role) started for them. */
export type Tracer = (pids: number[], load: () => Promise<LoadRun>, warmUp: () => Promise<LoadRun>) => Promise<TracedRun>;

/**
 * The sequence every role's espan goes through: the warm-up load, then the
 * measured one, each followed by the wait until its spans are out
 * (`settled`: what a load added to the counts since `before`). `tracing`
 * is the process whose CPU is the measured espan's; `linker`, in the agent
 * role, the one it exports to, whose CPU over the measured load is kept apart.
 */
export async function warmUpThenMeasure(
  tracing: EspanProcess,
  warmUp: () => Promise<LoadRun>,
  load: () => Promise<LoadRun>,
  settled: (run: LoadRun, before: Counts) => Promise<Counts>,
  linker?: EspanProcess,
): Promise<TracedRun> {
  const cpuStart = tracing.cpuMs();
  const warm = await warmUp();
  const afterWarmUp = await settled(warm, NO_COUNTS);
  const cpu0 = tracing.cpuMs();
  const linkerCpu0 = linker?.cpuMs() ?? 0;
  const run = await load();
  // the spans held when the load ended are part of its cost
  const counts = await settled(run, afterWarmUp);
  return {
    ...run,
    ...counts,
    espanCpuMs: tracing.cpuMs() - cpu0,
    linkerCpuMs: linker && linker.cpuMs() - linkerCpu0,
    warmUp: { requests: warm.requests, espanCpuMs: cpu0 - cpuStart, kernelDrops: afterWarmUp.kernelDrops },
  };
}

/** A warm-up load, then the measured one, while espan, in its own process, traces `pids` with the full chain. */
export const traced: Tracer = async (pids, load, warmUp) => {
  const config = tracedChain(pids);
  const espan = await startEspan(config);
  try {
    await sleep(500);
    return await warmUpThenMeasure(espan, warmUp, load, (run, before) => settledCounts(espan, { requests: run.requests, holdingMs: holdingMs(config) }, before));
  } finally {
    await espan.stop();
  }
};

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
