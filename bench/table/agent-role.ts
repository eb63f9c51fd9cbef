/**
 * The agent role traced as deployed: examples/agent.yaml's chain (ebpf →
 * parse → thread_correlation → propagation → span_builder → batch → OTLP
 * export) in one espan process, exporting to a linker in another (an `otlp`
 * receiver → nop, so the linker's own work stays out of the figures).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { projectRoot } from '../../core/project-root';
import { freePort } from '../../test/helpers/servers';
import { startEspan, type EspanProcess } from '../lib/espan-process';
import type { LoadRun } from '../lib/measure';
import { countsSince, dropReasonsOf, holdingMs, movement, receiverOf, sum, waitSettled, warmUpThenMeasure, type Counts, type Tracer } from './shared';

const AGENT_YAML = 'examples/agent.yaml';

interface PipelineYaml {
  receivers: Record<string, unknown>;
  exporters: Record<string, { endpoint?: string }>;
  extensions?: unknown;
  service: { extensions?: unknown; pipelines: { traces: { processors: string[]; exporters: string[] } } };
}

/**
 * examples/agent.yaml tracing `pids` only (not the load
 * generator, not the linker) and exporting to `endpoint`; without its
 * health_check extension, whose fixed port would clash with other espans here.
 */
export function agentConfig(pids: number[], endpoint: string): string {
  const doc = parse(fs.readFileSync(path.join(projectRoot(), AGENT_YAML), 'utf8')) as PipelineYaml;
  doc.receivers = { ebpf: receiverOf(pids) };
  for (const id of doc.service.pipelines.traces.exporters) doc.exporters[id].endpoint = endpoint;
  delete doc.extensions;
  delete doc.service.extensions;
  return stringify(doc);
}

/** The agent's processors, as examples/agent.yaml lists them. */
export function agentChain(): string[] {
  return (parse(fs.readFileSync(path.join(projectRoot(), AGENT_YAML), 'utf8')) as PipelineYaml).service.pipelines.traces.processors;
}

function linkerConfig(port: number): string {
  return `receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:${port}"}, http: {endpoint: ""}}}
exporters:
  nop: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [nop]}
`;
}

/** A warm-up load, then the measured one, while an espan agent traces `pids` and exports to an espan linker. */
export const tracedByAgent: Tracer = async (pids, load, warmUp) => {
  const port = await freePort();
  const linker = await startEspan(linkerConfig(port));
  let agent: EspanProcess | undefined;
  try {
    const config = agentConfig(pids, `127.0.0.1:${port}`);
    const tracing = (agent = await startEspan(config));
    await sleep(500);
    const both = [tracing, linker];
    const spans = (): Promise<number> => linker.metric('espan_exporter_sent_items_total', { exporter: 'nop' });
    const countsNow = async (): Promise<Counts> => {
      const dropReasons = await dropReasonsOf(linker, await dropReasonsOf(tracing));
      return {
        spans: await spans(),
        records: await tracing.metric('espan_ebpf_delivered_records_total'),
        kernelDrops: await tracing.metric('espan_ebpf_kernel_dropped_records_total'),
        pipelineDrops: sum([...dropReasons.values()], (n) => n),
        dropReasons,
      };
    };
    const settled = async (run: LoadRun, before: Counts): Promise<Counts> => {
      const moved = async (): Promise<string> => JSON.stringify(await Promise.all(both.map(movement)));
      await waitSettled(async () => ({ counters: await moved(), spans: (await spans()) - before.spans }), { requests: run.requests, holdingMs: holdingMs(config) });
      return countsSince(await countsNow(), before);
    };
    return await warmUpThenMeasure(tracing, warmUp, load, settled, linker);
  } finally {
    await agent?.stop();
    await linker.stop();
  }
};
