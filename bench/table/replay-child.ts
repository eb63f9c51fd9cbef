/**
 * The replay measurement's child process, which its parent pins to one core:
 * replays FILE through the full chain to nop, WARM_UP_RUNS times untimed and
 * RUNS times timed, and prints {records, spans, seconds} of the timed runs as
 * JSON.
 *
 *   node replay-child.js FILE RUNS
 */
import { runPipeline } from '../lib/run-pipeline';
import { CHAIN, NOP_EXPORTER, PROCESSORS } from './shared';

export interface ReplayChildOutput {
  /** untimed replays before the timed ones */
  warmUpRuns: number;
  records: number;
  spans: number;
  seconds: number;
}

/** V8 compiles the hot code over the first few replays (13.0, 9.8, 9.1, 8.7 µs per span on the demo capture) */
const WARM_UP_RUNS = 3;

async function main(file: string, runs: number): Promise<void> {
  const out: ReplayChildOutput = { warmUpRuns: WARM_UP_RUNS, records: 0, spans: 0, seconds: 0 };
  for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
    const run = await runPipeline(
      `receivers: {replay: {path: ${JSON.stringify(file)}}}
${PROCESSORS}${NOP_EXPORTER}service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [${CHAIN.join(', ')}], exporters: [nop]}}
`,
      'bench-table.yaml',
    );
    if (i < WARM_UP_RUNS) continue;
    // the chain's held spans flush at shutdown: part of the work
    out.seconds += run.totalSeconds;
    out.records += await run.metrics.total('espan_receiver_accepted_items_total');
    out.spans += await run.metrics.total('espan_exporter_sent_items_total');
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main(process.argv[2], Number(process.argv[3])).catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
