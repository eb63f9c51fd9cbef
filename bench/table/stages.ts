/**
 * What each stage of the chain costs on one core: a capture replayed through
 * growing prefixes of the chain in a child process pinned with taskset
 * (stages-child.ts); a stage's cost is the CPU its prefix adds to the prefix
 * before, the median over the rounds of that difference.
 */
import * as path from 'node:path';
import { projectRoot } from '../../core/project-root';
import { runPinned } from '../lib/child';
import { median } from '../lib/measure';
import type { Outcome, StageCosts } from './results';
import { CHAIN } from './shared';
import type { StagesChildOutput } from './stages-child';

/** One prefix of the chain: its processors and where they export. */
export interface StagePrefix {
  /** the stage this prefix adds to the one before */
  stage: string;
  processors: string[];
  exporter: 'nop' | 'otlp_encode';
}

/** In chain order: replay → nop, each processor added, then the whole chain into OTLP encoding instead of nop. */
export const PREFIXES: StagePrefix[] = [
  { stage: 'replay', processors: [], exporter: 'nop' },
  ...CHAIN.map((p, i): StagePrefix => ({ stage: p, processors: CHAIN.slice(0, i + 1), exporter: 'nop' })),
  { stage: 'OTLP encoding', processors: CHAIN, exporter: 'otlp_encode' },
];

export interface StagesOptions {
  /** capture file */
  file: string;
  /** how the table names the capture; its path by default */
  label?: string;
  /** timed rounds, after a warm-up */
  runs: number;
}

export async function stageCosts(opts: StagesOptions): Promise<Outcome<StageCosts>> {
  try {
    return costsOf(opts, await runPinned<StagesChildOutput>(path.join(__dirname, 'stages-child'), [path.resolve(opts.file), String(opts.runs)]));
  } catch (e) {
    return { outcome: 'failed', why: (e as Error).message.split('\n')[0] };
  }
}

function costsOf(opts: StagesOptions, out: StagesChildOutput): StageCosts {
  const cpu = out.cpuSeconds;
  // each stage against the prefix before it; the OTLP encoding against the whole chain to nop, its prefix but for the exporter
  const added = PREFIXES.map((_, i) => (i === 0 ? median(cpu[0]) : median(cpu[i].map((s, run) => s - cpu[i - 1][run]))));
  const chain = PREFIXES.length - 2;
  return {
    capture: opts.label ?? shownPath(opts.file),
    runs: opts.runs,
    warmUpRounds: out.warmUpRounds,
    replaysPerRun: out.replaysPerRun,
    records: out.records,
    messages: out.messages,
    spans: out.spans,
    stages: PREFIXES.map((p, i) => ({ stage: p.stage, cpuMs: added[i] * 1000 })),
    chainCpuMs: median(cpu[chain]) * 1000,
    encodedCpuMs: median(cpu[chain + 1]) * 1000,
    startStopCpuMs: median(out.startStopSeconds) * 1000,
  };
}

/** A file of the checkout relative to it, any other as given. */
function shownPath(file: string): string {
  const rel = path.relative(projectRoot(), path.resolve(file));
  return rel.startsWith('..') ? file : rel;
}
