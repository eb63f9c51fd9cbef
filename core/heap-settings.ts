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
 * µs): more full collections while spans are held for linking's windows. So
 * it is set only while espan uses little of a core (V8 reads it at each full
 * collection), and V8's own factor is back as soon as espan is busy. At a
 * paced 10k req/s (espan at ~11 % of a core) that took RSS from 181/185/185
 * to 170/171/168 MB and its slope from +31..55 to +2..4 MB/min, for ~2 points
 * of a core (10 → 12 %); 25 % took it to 162 MB for ~3 points.
 * A flag given on node's command line (or in NODE_OPTIONS, where node allows
 * it) wins over these settings.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';

/** both semi-spaces, as --max-semi-space-size=8 would bound them: 8 MB took ~6 MB more off the heap, not off RSS, for ~1.5 points of a core */
const YOUNG_GENERATION_BYTES = 16 * 1024 * 1024;
/** V8's default */
const SEMI_SPACE_GROWTH_FACTOR = 2;

/** the old generation's growth over what a full collection kept, while espan is calm */
const CALM_GROWING_PERCENT = 50;
/** espan's share of one core (its whole process) under which it counts as calm, and over which as busy again */
const CALM_BELOW = 0.3;
const BUSY_ABOVE = 0.5;
const CPU_CHECK_MS = 2000;

let applied = false;

/**
 * Applies the settings once per process. `youngGeneration`: whether to bound
 * the young generation, and the old generation's growth while calm; the
 * flags they switch are process-wide, so a process with stage workers
 * (isolates of their own) leaves them alone.
 */
export function boundHeap(opts: { youngGeneration: boolean }): void {
  if (applied) return;
  applied = true;
  if (!opts.youngGeneration) return;
  if (!givenByUser('max-semi-space-size') && !givenByUser('semi-space-growth-factor')) capYoungGeneration();
  if (!givenByUser('heap-growing-percent')) growOldGenerationByLoad();
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

/**
 * Every CPU_CHECK_MS, espan's CPU share of the interval decides the old
 * generation's growth: CALM_GROWING_PERCENT below CALM_BELOW of a core, V8's
 * own factor (0: unset) above BUSY_ABOVE; in between it stays as it was.
 */
function growOldGenerationByLoad(): void {
  let calm = false;
  let last = process.cpuUsage();
  const timer = setInterval(() => {
    const used = process.cpuUsage(last);
    last = process.cpuUsage();
    const nowCalm = calmAfter(calm, (used.user + used.system) / 1000 / CPU_CHECK_MS);
    if (nowCalm === calm) return;
    calm = nowCalm;
    v8.setFlagsFromString(`--heap-growing-percent=${calm ? CALM_GROWING_PERCENT : 0}`);
  }, CPU_CHECK_MS);
  timer.unref();
}

/** Whether espan is calm after an interval in which it used `share` of a core, having been calm or not before. */
export function calmAfter(calm: boolean, share: number): boolean {
  return calm ? share < BUSY_ABOVE : share < CALM_BELOW;
}

function youngGenerationBytes(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

function givenByUser(flag: string): boolean {
  const given = (arg: string): boolean => arg.replace(/_/g, '-').startsWith(`--${flag}`);
  return process.execArgv.some(given) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).some(given);
}
