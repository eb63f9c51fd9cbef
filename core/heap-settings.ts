/**
 * V8's young generation bounded for a long-running agent, from inside the
 * process. Its own bound (--max-semi-space-size) is fixed before any
 * JavaScript runs; --semi-space-growth-factor is read at each collection, so
 * growth is switched off once the young generation reached
 * YOUNG_GENERATION_BYTES (V8 grows it to 32 MB under load).
 *
 * Side by side (bench:table, this tree with and without it, alternated):
 * RSS at a paced 10k req/s 240 → 191 MB, and espan's CPU per request at full
 * load unchanged or lower (all-in-one nginx 9.7/9.8 → 10.1/9.5 µs, Redis
 * 12.7/12.7 → 11.4/11.4 µs).
 *
 * --heap-growing-percent=50 (a full collection lets the old generation grow
 * 50 % over what it kept, instead of V8's factor of up to 4) took RSS on to
 * 172 MB, but cost ~2 µs per request at full load (all-in-one nginx 12.0/12.4
 * µs): more full collections while spans are held for linking's windows. It
 * is left to the user: `node --heap-growing-percent=50 bin/espan …`. A flag
 * given on the command line or in NODE_OPTIONS wins over these settings.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';

/** both semi-spaces, as --max-semi-space-size=8 would bound them: 8 MB took ~6 MB more off the heap, not off RSS, for ~1.5 points of a core */
const YOUNG_GENERATION_BYTES = 16 * 1024 * 1024;
/** V8's default */
const SEMI_SPACE_GROWTH_FACTOR = 2;

let applied = false;

/**
 * Applies the settings once per process. `youngGeneration`: whether to bound
 * the young generation; the growth factor it switches is process-wide, so a
 * process with stage workers (isolates of their own) leaves it alone.
 */
export function boundHeap(opts: { youngGeneration: boolean }): void {
  if (applied) return;
  applied = true;
  if (opts.youngGeneration && !givenByUser('max-semi-space-size') && !givenByUser('semi-space-growth-factor')) capYoungGeneration();
}

/**
 * V8 doubles the young generation after scavenges that kept much. Growth is
 * stopped once it reached the bound (loading espan's modules mostly has),
 * and allowed again while it is below (V8 shrinks it when allocation is
 * slow). Checked after collections, so a burst of scavenges before the check
 * can take it a doubling or two past the bound.
 */
function capYoungGeneration(): void {
  let growing = true;
  const check = (): void => {
    const grow = youngGenerationBytes() < YOUNG_GENERATION_BYTES;
    if (grow === growing) return;
    growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? SEMI_SPACE_GROWTH_FACTOR : 1}`);
  };
  check();
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
}

function youngGenerationBytes(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

function givenByUser(flag: string): boolean {
  const given = (arg: string): boolean => arg.replace(/_/g, '-').startsWith(`--${flag}`);
  return process.execArgv.some(given) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).some(given);
}
