/**
 * The stage measurement's child process, which its parent pins to one core:
 * replays FILE through growing prefixes of the full chain (replay → nop,
 * + parse, …, + tail_sampling, then the whole chain into OTLP encoding
 * instead of nop), WARM_UP_ROUNDS rounds and RUNS timed rounds, prefixes
 * interleaved in each round, and prints the CPU of every run and the
 * chain's counts as JSON (StagesChildOutput). Each run's CPU is less that
 * of replaying the capture's first record alone (the pipeline's start and
 * stop); a small capture is replayed several times per run.
 *
 *   node stages-child.js FILE RUNS
 *
 * No collection is forced between runs: a full one drops the hidden classes
 * of the run before's objects, and V8 then deoptimises the code compiled
 * against them (~84 deoptimisations a run on the demo capture), so each run
 * measured V8 warming up again, twice the steady cost. A run's garbage is
 * collected in the runs after it, as in a pipeline that keeps running.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureWriter, readCapture } from '../../core/capture/format';
import { defaultRegistry } from '../../registry';
import { encodeExporterFactory } from '../lib/encode-exporter';
import { runPipeline } from '../lib/run-pipeline';
import { CHAIN, PROCESSORS } from './shared';
import { PREFIXES, type StagePrefix } from './stages';

/** A timed run replays the capture this many records' worth at least, so that a small capture's figures are not noise. */
const MIN_RECORDS_PER_RUN = 20_000;
/** untimed rounds first: V8 compiles the hot code over the first few replays (13.0, 9.8, 9.1, 8.7 µs per span on the demo capture) */
const WARM_UP_ROUNDS = 2;

export interface StagesChildOutput {
  /**
   * CPU seconds of one replay of the capture less the pipeline's start and
   * stop (a replay of its first record alone), per timed run (the mean over
   * its replays), per prefix (PREFIXES' order)
   */
  cpuSeconds: number[][];
  /** CPU seconds of the start and stop of the last prefix's pipeline, per timed run */
  startStopSeconds: number[];
  /** untimed rounds before the timed ones */
  warmUpRounds: number;
  /** replays of the capture per timed run */
  replaysPerRun: number;
  /** of one run of the whole chain */
  records: number;
  messages: number;
  spans: number;
}

function prefixConfig(file: string, p: StagePrefix): string {
  return `receivers: {replay: {path: ${JSON.stringify(file)}}}
${PROCESSORS}exporters:
  ${p.exporter}: {}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [${p.processors.join(', ')}], exporters: [${p.exporter}]}}
`;
}

/** The first record of `file` alone, as a capture: replaying it costs a pipeline's start and stop and nearly nothing else. */
async function firstRecordOf(file: string, out: string): Promise<void> {
  const w = new CaptureWriter(out, 'bench-stages');
  for await (const batch of readCapture(file)) {
    w.write(batch.slice(0, 1));
    break;
  }
  w.close();
}

async function main(file: string, runs: number): Promise<void> {
  const registry = defaultRegistry().add(encodeExporterFactory);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-bench-stages-'));
  const oneRecord = path.join(dir, 'one-record.espcap');
  await firstRecordOf(file, oneRecord);
  const out: StagesChildOutput = { cpuSeconds: PREFIXES.map(() => []), startStopSeconds: [], warmUpRounds: WARM_UP_ROUNDS, replaysPerRun: 1, records: 0, messages: 0, spans: 0 };
  const cpuOf = async (capture: string, p: StagePrefix): Promise<number> => {
    const run = await runPipeline(prefixConfig(capture, p), 'bench-stages.yaml', registry);
    if (capture === file && p.stage === CHAIN[CHAIN.length - 1]) {
      out.records = await run.metrics.total('espan_receiver_accepted_items_total');
      out.messages = await run.metrics.total('espan_processor_outgoing_items_total', { processor: 'parse' });
      out.spans = await run.metrics.total('espan_processor_outgoing_items_total', { processor: 'span_builder' });
    }
    return run.cpuSeconds;
  };
  /** CPU seconds of one replay through `p` less the pipeline's start and stop, the mean of `replays` */
  const replay = async (p: StagePrefix, replays: number): Promise<number> => {
    let cpu = 0;
    let startStop = 0;
    for (let i = 0; i < replays; i++) {
      cpu += await cpuOf(file, p);
      startStop += await cpuOf(oneRecord, p);
    }
    if (p === PREFIXES[PREFIXES.length - 1]) out.startStopSeconds.push(startStop / replays);
    return (cpu - startStop) / replays;
  };
  try {
    for (let round = 0; round < WARM_UP_ROUNDS; round++) for (const p of PREFIXES) await replay(p, 1);
    out.startStopSeconds = [];
    out.replaysPerRun = Math.max(1, Math.ceil(MIN_RECORDS_PER_RUN / Math.max(out.records, 1)));
    for (let round = 0; round < runs; round++) {
      for (const [i, p] of PREFIXES.entries()) out.cpuSeconds[i].push(await replay(p, out.replaysPerRun));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main(process.argv[2], Number(process.argv[3])).catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
