/**
 * The end-to-end benchmark table, measured in one run on this machine:
 *
 *   npm run bench:table      (node dist/bench/table.js [--rounds 2] [--duration 5] [--only overhead,agent,replay,stages,rss] …, bench/README.md)
 *
 * 1. capture overhead (table/overhead.ts): nginx under wrk and redis-server
 *    under redis-benchmark, untraced and traced by espan running the full
 *    chain (ebpf → parse → thread_correlation → propagation → span_builder →
 *    linking → tail_sampling → nop) as its own process, rounds interleaved;
 *    traced/untraced ratio of throughput and of CPU per request (the server,
 *    the load generator and, when traced, espan);
 * 2. the agent role (table/agent-role.ts), traced in the same rounds:
 *    examples/agent.yaml's chain exporting to a linker process; the agent's
 *    CPU per request and the total CPU-per-request increase, next to 1's;
 * 3. full-pipeline throughput on one core (table/replay-throughput.ts): a
 *    capture recorded from the demo system replayed through parse → … →
 *    tail_sampling → nop, records/s, spans/s;
 * 4. what each stage costs on one core (table/stages.ts): CPU per record,
 *    message and span of growing prefixes of the chain, from a capture;
 * 5. espan's RSS at a steady 10k req/s and its slope (table/steady-rss.ts;
 *    paced, against nginx: the demo's Python front service serves far less
 *    on two cores);
 * 6. span completeness (spans exported / requests answered) and drops
 *    (kernel + pipeline) at each load, the highest being wrk's and redis-benchmark's.
 *
 * --only runs some of them: overhead (1 and its completeness), agent (2 and
 * its completeness), replay (3), stages (4), rss (5 and its completeness).
 * Prints progress to stderr and the Markdown table (table/render.ts), with
 * the machine, to stdout. Where eBPF or a server is missing the row says why
 * and the rest goes on.
 */
import * as path from 'node:path';
import { projectRoot } from '../core/project-root';
import { ebpfUnavailable } from '../test/ebpf/harness';
import { machine } from './lib/measure';
import { numberOption, option } from './lib/options';
import { captureOverhead } from './table/overhead';
import { renderTable } from './table/render';
import { replayThroughput } from './table/replay-throughput';
import type { TableResults } from './table/results';
import { log } from './table/shared';
import { COMMITTED_CAPTURE } from './table/shared';
import { stageCosts } from './table/stages';
import { steadyRss } from './table/steady-rss';

const MEASUREMENTS = ['overhead', 'agent', 'replay', 'stages', 'rss'];
const ONLY = option('only')?.split(',') ?? MEASUREMENTS;

const overheadOptions = {
  roles: (['all-in-one', 'agent'] as const).filter((role) => ONLY.includes(role === 'all-in-one' ? 'overhead' : role)),
  rounds: numberOption('rounds', 2),
  seconds: numberOption('duration', 5),
  connections: 32,
  redisRequests: numberOption('redis-requests', 100_000),
};
const replayOptions = { recordSeconds: numberOption('record-seconds', 8), runs: 3 };
const stagesFile = option('stages-file');
const stagesRuns = numberOption('stages-runs', 3);
const steadyRssOptions = { rate: numberOption('rate', 10_000), seconds: numberOption('paced-seconds', 60) };

/** Why the eBPF rows cannot be measured here, or undefined. */
function whyNoEbpf(): string | undefined {
  if (process.getuid?.() !== 0) return 'eBPF needs root';
  const why = ebpfUnavailable();
  return why && `eBPF unavailable: ${why}`;
}

async function main(): Promise<void> {
  const unknown = ONLY.filter((m) => !MEASUREMENTS.includes(m));
  if (unknown.length) {
    console.error(`--only: unknown ${unknown.join(', ')}; the measurements are ${MEASUREMENTS.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const t0 = performance.now();
  const ebpfWhy = whyNoEbpf();
  if (ebpfWhy) log(`${ebpfWhy}: the eBPF rows are skipped`);
  const overhead = overheadOptions.roles.length ? await captureOverhead(ebpfWhy, overheadOptions) : undefined;
  let stages: Awaited<ReturnType<typeof stageCosts>> | undefined;
  const measureStages = async (file: string, label?: string): Promise<void> => {
    log(`stages: replaying ${label ?? file} through growing prefixes of the chain on one core`);
    stages = await stageCosts({ file, label, runs: stagesRuns });
  };
  // Stages are measured on the replay row's capture (the demo recording) unless a file is named or replay is not run.
  const stagesOnReplayCapture = ONLY.includes('stages') && ONLY.includes('replay') && !stagesFile;
  const replay = ONLY.includes('replay') ? await replayThroughput(ebpfWhy, replayOptions, stagesOnReplayCapture ? measureStages : undefined) : undefined;
  if (ONLY.includes('stages') && !stagesOnReplayCapture) await measureStages(stagesFile ?? path.join(projectRoot(), COMMITTED_CAPTURE));
  const rss = ONLY.includes('rss') ? { targetRate: steadyRssOptions.rate, result: await steadyRss(ebpfWhy, steadyRssOptions) } : undefined;
  const results: TableResults = {
    machine: machine(),
    date: new Date().toISOString().slice(0, 10),
    seconds: (performance.now() - t0) / 1000,
    overhead,
    replay,
    stages,
    steadyRss: rss,
  };
  console.log(renderTable(results));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
