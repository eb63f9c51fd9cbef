/**
 * Replay throughput: records/s from a capture file through a no-op pipeline
 * (replay → nop), and the same with the batch processor in between. Figures,
 * not assertions: run with `node --import tsx bench/replay.ts [records]`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureWriter } from '../core/capture/format';
import { syntheticRecords } from '../test/helpers/records';
import { runPipeline } from './lib/run-pipeline';

async function replayOnce(file: string, processors: string): Promise<{ seconds: number; records: number }> {
  const { receiversSeconds, metrics } = await runPipeline(
    `receivers: {replay: {path: ${JSON.stringify(file)}}}
processors: {batch: {}}
exporters: {nop: {}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [${processors}], exporters: [nop]}}
`,
    'bench.yaml',
  );
  return { seconds: receiversSeconds, records: await metrics.total('espan_exporter_sent_items_total') };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-bench-'));
  const file = path.join(dir, 'bench.espancap');
  const w = new CaptureWriter(file, 'bench');
  for (let i = 0; i < n; i += 100_000) w.write(syntheticRecords(Math.min(100_000, n - i), i + 1));
  w.close();
  const mb = fs.statSync(file).size / 1e6;
  console.log(`replay benchmark: ${n.toLocaleString('en')} records, ${mb.toFixed(1)} MB capture file, node ${process.version}, ${os.cpus()[0].model}`);
  await replayOnce(file, ''); // warm-up
  for (const [label, procs] of [['replay → nop', ''], ['replay → batch → nop', 'batch']]) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await replayOnce(file, procs));
    const best = runs.reduce((a, b) => (a.seconds < b.seconds ? a : b));
    console.log(`${label.padEnd(24)} ${Math.round(best.records / best.seconds).toLocaleString('en').padStart(12)} records/s  (${(mb / best.seconds).toFixed(0)} MB/s, best of 3)`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
