/**
 * What each stage of the full chain costs on one core: a capture replayed
 * through growing prefixes of the chain (replay → nop, + parse, +
 * thread_correlation, + propagation, + span_builder, + linking, +
 * tail_sampling, and the OTLP encoding of the result), pinned with taskset
 * to core 0; prints the CPU per record, message and span of each stage
 * (differences of CPU, median of RUNS rounds) and the full chain's spans/s.
 *
 *   node dist/bench/stages.js [FILE=bench/testdata/linking-two-hosts.espcap] [--runs 5]
 */
import * as path from 'node:path';
import { projectRoot } from '../core/project-root';
import { numberOption } from './lib/options';
import { renderStages } from './table/render';
import { isUnmeasured } from './table/results';
import { COMMITTED_CAPTURE } from './table/shared';
import { stageCosts } from './table/stages';

async function main(): Promise<void> {
  const file = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : path.join(projectRoot(), COMMITTED_CAPTURE);
  const costs = await stageCosts({ file, runs: numberOption('runs', 5) });
  if (isUnmeasured(costs)) throw new Error(`${costs.outcome}: ${costs.why}`);
  console.log(renderStages(costs));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
