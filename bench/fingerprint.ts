/**
 * What a capture becomes, as one digest: replays FILE through a chain into
 * the file exporter, then canonicalises every exported span (ids, parent,
 * name, kind, times, status, attributes, resource) and hashes the sorted
 * lines. A speed-up is real when the same capture gives the same digest
 * before and after; `--dump OUT` writes the lines to diff when it does not.
 *
 *   node dist/bench/fingerprint.js FILE [--chain all-in-one|agent] [--dump OUT]
 *
 * all-in-one: parse → thread_correlation → propagation → span_builder →
 * linking → tail_sampling (always_sample); agent: the same without linking
 * and sampling. Replay is paced by nothing, so windows close by span time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { option } from './lib/options';
import { canonicalSpanLines, spanDigest } from '../test/helpers/canonical-spans';
import { runPipeline } from './lib/run-pipeline';
import { PROCESSORS } from './table/shared';

const CHAINS: Record<string, string[]> = {
  agent: ['parse', 'thread_correlation', 'propagation', 'span_builder'],
  'all-in-one': ['parse', 'thread_correlation', 'propagation', 'span_builder', 'linking', 'tail_sampling'],
};

async function main(): Promise<void> {
  const file = process.argv[2];
  const chainName = option('chain') ?? 'all-in-one';
  const dump = option('dump');
  const chain = CHAINS[chainName];
  if (!file || !chain) throw new Error(`usage: fingerprint FILE [--chain ${Object.keys(CHAINS).join('|')}] [--dump OUT]`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-fingerprint-'));
  const out = path.join(dir, 'spans.json');
  try {
    await runPipeline(
      `receivers: {replay: {path: ${JSON.stringify(path.resolve(file))}}}
${PROCESSORS}exporters: {file: {path: ${JSON.stringify(out)}}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [${chain.join(', ')}], exporters: [file]}}
`,
      'fingerprint.yaml',
    );
    const lines = canonicalSpanLines(fs.readFileSync(out, 'utf8'));
    if (dump) fs.writeFileSync(dump, lines.join('\n') + '\n');
    const digest = spanDigest(lines);
    console.log(`${chainName}: ${lines.length} spans, digest ${digest}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
