/**
 * The replay measurement's child process, which its parent pins to one core:
 * replays FILE through the full chain to nop, once to warm up and RUNS times
 * timed, and prints {records, spans, seconds} of the timed runs as JSON.
 *
 *   node replay-child.js FILE RUNS
 */
import { runPipeline } from '../lib/run-pipeline';
import { CHAIN, NOP_EXPORTER, PROCESSORS } from './shared';

export interface ReplayChildOutput {
  records: number;
  spans: number;
  seconds: number;
}

async function main(file: string, runs: number): Promise<void> {
  const out: ReplayChildOutput = { records: 0, spans: 0, seconds: 0 };
  for (let i = 0; i <= runs; i++) {
    const run = await runPipeline(
      `receivers: {replay: {path: ${JSON.stringify(file)}}}
${PROCESSORS}${NOP_EXPORTER}service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [${CHAIN.join(', ')}], exporters: [nop]}}
`,
      'bench-table.yaml',
    );
    if (i === 0) continue; // warm-up
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
