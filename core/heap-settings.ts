/**
 * V8's young generation bounded for a long-running agent, from inside the
 * process. Its own bound (--max-semi-space-size) is fixed before any
 * JavaScript runs; --semi-space-growth-factor is read at each collection, so
 * growth is switched off once the young generation reached its bound (V8
 * grows it to 32 MB under load).
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
 * The young generation's bound follows espan's load too, on lower bounds
 * (YOUNG_GENERATION_LOAD): 8 MB while calm, 16 MB while busy. At the paced
 * 10k req/s (bench:table --only rss, alternated with the tree before):
 * 157/162/153 against 162/163/165/164/161 MB, espan at 9.7/10.2/9.6 % of a
 * core against 9.3-10.0 % (8 MB always: 155/157 MB; 4 MB: 161 MB; 8 MB with
 * 25 % growth while calm: 148/156 MB for 1-2 points more of a core). V8
 * shrinks the young generation only where allocation is slow (under 1 MB/s),
 * so one that grew while busy (a load's first seconds, while V8 compiles,
 * can be) keeps its size until then; start-up (loading the probe takes most
 * of a core) does not count as load.
 * A flag given on node's command line (or in NODE_OPTIONS, where node allows
 * it) wins over these settings.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';

/** both semi-spaces, as --max-semi-space-size=8 would bound them */
const BUSY_YOUNG_GENERATION_BYTES = 16 * 1024 * 1024;
/** both semi-spaces while espan is calm */
const CALM_YOUNG_GENERATION_BYTES = 8 * 1024 * 1024;
/** V8's default */
const SEMI_SPACE_GROWTH_FACTOR = 2;

/** the old generation's growth over what a full collection kept, while espan is calm */
const CALM_GROWING_PERCENT = 50;
/** espan's share of one core (its whole process) under which it counts as calm, and over which as busy again */
const OLD_GENERATION_LOAD: LoadBounds = { calmBelow: 0.3, busyAbove: 0.5 };
/**
 * lower for the young generation: the agent role at full load (espan at 25-50 % of a core) spent up to ~0.5 µs more
 * per Redis command with 8 MB (bench:table --only agent, alternated: 3.0-3.9 against 3.0-3.4 µs; on these bounds
 * 2.8-3.3); at a paced 10k req/s espan is at ~10 %
 */
const YOUNG_GENERATION_LOAD: LoadBounds = { calmBelow: 0.15, busyAbove: 0.2 };
const CPU_CHECK_MS = 2000;

let applied = false;
/** starts switching the settings between calm and busy; set by boundHeap where it applied them */
let follow: (() => void) | undefined;

/**
 * Applies the settings once per process, as for a calm espan (a load that
 * begins with espan would otherwise grow the young generation to the busy
 * bound before the first check); `heapFollowsLoad` then lets espan's load
 * switch them. With `apply` false the process keeps V8's own settings for
 * good. The flags are process-wide, so a process with stage workers
 * (isolates of their own) keeps V8's; so does one whose receivers read files
 * (replay, pcap), taken as fast as they go: no steady load to bound the heap
 * for; with these (calm until the first load check, 2 s in, then busy) the
 * demo capture's replay took ~10 % longer and ~13 % more CPU.
 */
export function boundHeap(opts: { apply: boolean }): void {
  if (applied) return;
  applied = true;
  if (!opts.apply) return;
  const young = givenByUser('max-semi-space-size') || givenByUser('semi-space-growth-factor') ? undefined : capYoungGeneration();
  const old = !givenByUser('heap-growing-percent');
  if (!young && !old) return;
  const settings: LoadSetting[] = [];
  if (young) settings.push({ bounds: YOUNG_GENERATION_LOAD, changed: (calm) => young.bound(calm ? CALM_YOUNG_GENERATION_BYTES : BUSY_YOUNG_GENERATION_BYTES) });
  if (old) settings.push({ bounds: OLD_GENERATION_LOAD, changed: (calm) => v8.setFlagsFromString(`--heap-growing-percent=${calm ? CALM_GROWING_PERCENT : 0}`) });
  for (const setting of settings) setting.changed(true);
  follow = () => watchLoad(settings);
}

/**
 * From now on espan's CPU share switches the settings boundHeap applied
 * between calm and busy. Called once espan started: start-up (loading the
 * probe) takes most of a core for a while, which is not load.
 */
export function heapFollowsLoad(): void {
  follow?.();
  follow = undefined;
}

/**
 * V8 doubles the young generation after scavenges that kept much. Growth is
 * stopped once it reached the bound (loading espan's modules mostly has),
 * and allowed again while it is below (V8 shrinks it when allocation is
 * slow). Checked after collections, so a burst of scavenges before the check
 * can take it a doubling or two past the bound.
 */
function capYoungGeneration(): { bound(bytes: number): void } {
  let bound = BUSY_YOUNG_GENERATION_BYTES;
  let growing = true;
  const check = (): void => {
    const grow = youngGenerationBytes() < bound;
    if (grow === growing) return;
    growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? SEMI_SPACE_GROWTH_FACTOR : 1}`);
  };
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
  return {
    bound(bytes) {
      bound = bytes;
      check();
    },
  };
}

/** A setting that follows espan's load: `changed` is called when espan turns calm or busy by its own `bounds`. */
interface LoadSetting {
  bounds: LoadBounds;
  changed(calm: boolean): void;
}

/**
 * Every CPU_CHECK_MS, espan's CPU share of the interval decides, for each
 * setting by its own bounds, whether espan is calm or busy (calm at first).
 */
function watchLoad(settings: LoadSetting[]): void {
  const calm = settings.map(() => true);
  let last = process.cpuUsage();
  const timer = setInterval(() => {
    const used = process.cpuUsage(last);
    last = process.cpuUsage();
    const share = (used.user + used.system) / 1000 / CPU_CHECK_MS;
    settings.forEach((setting, i) => {
      const nowCalm = calmAfter(calm[i], share, setting.bounds);
      if (nowCalm === calm[i]) return;
      calm[i] = nowCalm;
      setting.changed(nowCalm);
    });
  }, CPU_CHECK_MS);
  timer.unref();
}

/** espan's share of a core under which it counts as calm, and over which as busy again (in between it stays as it was) */
export interface LoadBounds {
  calmBelow: number;
  busyAbove: number;
}

/** Whether espan is calm after an interval in which it used `share` of a core, having been calm or not before. */
export function calmAfter(calm: boolean, share: number, bounds: LoadBounds = OLD_GENERATION_LOAD): boolean {
  return calm ? share < bounds.busyAbove : share < bounds.calmBelow;
}

function youngGenerationBytes(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

function givenByUser(flag: string): boolean {
  const given = (arg: string): boolean => arg.replace(/_/g, '-').startsWith(`--${flag}`);
  return process.execArgv.some(given) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).some(given);
}
