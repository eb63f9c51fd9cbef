/**
 * V8's heap sized for a long-running agent, from inside the process. The
 * heap's own bounds (--max-semi-space-size, --max-old-space-size) are fixed
 * before any JavaScript runs; these are flags V8 reads at each collection:
 *
 * - the young generation stops growing at YOUNG_GENERATION_BYTES (V8 grows it
 *   to 32 MB under load);
 * - a full collection lets the old generation grow by HEAP_GROWING_PERCENT
 *   over what it kept before the next one. V8's own factor, up to 4 on large
 *   machines, let the spans held for linking's windows (promoted at ~5 MB/s
 *   at 10k req/s) pile up to three or four times the live heap between collections.
 *
 * At a paced 10k req/s against nginx (bench:table --only rss, alternated) they
 * took the heap from ~120-134 to ~74 MB and RSS from 241/246 to 182/178 MB
 * (over the steady part 194-307 to 163-198 MB), for ~1.5 points of a core
 * more (12.9/11.6 → 14.0/13.6 %): full collections come more often. A flag
 * given on the command line or in NODE_OPTIONS wins.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';

/** both semi-spaces, as --max-semi-space-size=8 would bound them: 8 MB took ~6 MB more off the heap, not off RSS, for ~1.5 points of a core */
const YOUNG_GENERATION_BYTES = 16 * 1024 * 1024;
/** 20 took ~8 MB more off the heap but cost ~5 points of a core in full collections; 100 left ~15 MB more */
const HEAP_GROWING_PERCENT = 50;
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
  if (!givenByUser('heap-growing-percent')) v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
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
