/** Builds test/go/service with Debian's Go toolchain, in a temp dir of the caller's (its HOME and build cache too). */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { missingPrograms } from '../helpers/servers';

/** Why Go programs cannot be built here, or undefined. */
export function goUnavailable(): string | undefined {
  return missingPrograms('go').length ? 'no Go toolchain (scripts/setup.sh installs golang-go)' : undefined;
}

/** Builds the service into `dir/out` with extra `go build` flags; throws with the compiler's output on failure. */
export function buildService(dir: string, out: string, flags: string[] = []): string {
  const env = { ...process.env, HOME: dir, GOCACHE: path.join(dir, 'cache'), GOPATH: path.join(dir, 'gopath'), CGO_ENABLED: '0' };
  const file = path.join(dir, out);
  const r = spawnSync('go', ['build', ...flags, '-o', file, '.'], { cwd: path.join(__dirname, 'service'), env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`go build failed: ${r.stderr}`);
  return file;
}
