/** Runs every benchmark under bench/ one after another (they share the machine badly if run together). */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// Run from dist/ (npm run bench builds it first), as bin/espan runs espan: under tsx every call to a
// function of another module goes through a getter of esbuild's module interop, several times slower in hot loops.
const ext = path.extname(__filename);
const only = process.argv.slice(2);
const scripts = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith(ext) && !f.startsWith('run-all.') && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const s of scripts) {
  console.log(`\n=== ${s} ===`);
  const args = ext === '.ts' ? ['--import', 'tsx', path.join(__dirname, s)] : [path.join(__dirname, s)];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
