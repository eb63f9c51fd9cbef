/**
 * Records the demo system's traffic into a capture file, for profiling and
 * for before/after comparisons of the same input (needs root and eBPF):
 *
 *   node dist/bench/record-demo.js FILE [seconds=8]
 */
import { recordDemo } from './table/replay-throughput';

async function main(file: string | undefined, seconds: number): Promise<void> {
  if (!file) throw new Error('usage: record-demo FILE [seconds]');
  const { checkouts, checkoutsPerSecond } = await recordDemo(file, seconds);
  console.log(`${checkouts} checkouts (${checkoutsPerSecond.toFixed(0)}/s) recorded into ${file}`);
}

main(process.argv[2], Number(process.argv[3] ?? 8)).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
