/** Child processes of the benchmarks: a sibling module run pinned to one core. */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

/**
 * The node arguments that run `file` (a path without extension) as this
 * benchmark runs: compiled JavaScript as it is, TypeScript sources through tsx.
 */
export function nodeArgsFor(file: string): string[] {
  const ext = path.extname(__filename);
  return ext === '.ts' ? ['--import', 'tsx', file + ext] : [file + ext];
}

/**
 * Runs the module `file` (without extension) with `args` in a node pinned
 * with taskset to `core`, and parses the last line it prints as JSON.
 */
export async function runPinned<T>(file: string, args: string[], opts: { core?: number; nodeFlags?: string[] } = {}): Promise<T> {
  const argv = ['-c', String(opts.core ?? 0), process.execPath, ...(opts.nodeFlags ?? []), ...nodeArgsFor(file), ...args];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile('taskset', argv, { maxBuffer: 1 << 20 }, (e, out, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(out))),
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}
