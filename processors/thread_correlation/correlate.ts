/**
 * messages → messages: gives server messages their in-process (thread) trace
 * id and client calls the id of the request their thread was serving.
 *
 * Server messages pass straight through. A client call is held until its
 * enclosing request can have arrived: the parser emits a server message only
 * once its response is written, after the calls made while serving it. A call
 * is decided when the data clock of its host (latest message end seen) is
 * `wait` past the call's start, or when it has been held `wait` of wall time
 * (traffic may stop), or when the input completes.
 *
 * @example
 * messages$.pipe(correlateThreads({ waitMs: 2000, ... }))
 */
import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { statefulOperator, type StatefulEngine } from '../../core/stateful-operator';
import type { L7Message } from '../../core/signals';
import { HeldCalls } from './held-calls';
import { CALL_RESULTS, ThreadTimelines, type CallResult, type TimelineOptions } from './timeline';

export interface CorrelateOptions {
  waitMs: number;
  multiplexMemoryMs: number;
  maxThreads: number;
  maxScopesPerThread: number;
  /** client calls held at most; beyond it the oldest are decided at once */
  maxPending: number;
  /** link an event loop's calls by its ticks */
  eventLoopTicks?: boolean;
  /** link HTTP calls by the ids the application forwards (default true) */
  forwardedIds?: boolean;
}

export interface CorrelateCounters {
  call(result: CallResult, n: number): void;
  evicted(n: number): void;
  timelines(threads: number, scopes: number): void;
}

const NO_COUNTERS: CorrelateCounters = { call: () => {}, evicted: () => {}, timelines: () => {} };

/** A host's data clock: the latest message end seen, and when its scopes were last pruned by it. */
interface HostClock {
  readonly hostId: string;
  watermark: number;
  lastPruned: number;
}

export class ThreadCorrelator implements StatefulEngine<L7Message, L7Message> {
  private readonly timelines: ThreadTimelines;
  /** held calls, and the scheduler time each arrived */
  private readonly pending = new HeldCalls();
  private readonly clocks = new Map<string, HostClock>();
  /** the clock looked up last: messages of one host come in runs */
  private lastClock: HostClock | undefined;
  private reportedEvictions = 0;
  /** calls decided since last reported, by result */
  private readonly counts = Object.fromEntries(CALL_RESULTS.map((r) => [r, 0])) as Record<CallResult, number>;
  private readonly waitNs: number;
  /** data time a scope is kept after its end */
  private readonly retentionNs: number;

  constructor(
    private readonly opts: CorrelateOptions,
    private readonly counters: CorrelateCounters = NO_COUNTERS,
  ) {
    this.waitNs = opts.waitMs * 1e6;
    // A call decided late (held the full wait) may still need a scope that ended a wait before it started.
    this.retentionNs = 3 * this.waitNs;
    const timelineOpts: TimelineOptions = {
      multiplexMemoryNs: opts.multiplexMemoryMs * 1e6,
      maxThreads: opts.maxThreads,
      maxScopesPerThread: opts.maxScopesPerThread,
      eventLoopTicks: opts.eventLoopTicks ?? false,
      forwardedIds: opts.forwardedIds ?? true,
    };
    this.timelines = new ThreadTimelines(timelineOpts);
  }

  /** Takes a batch; returns what can go on now. */
  add(batch: readonly L7Message[], nowMs: number): L7Message[] {
    // made at the batch's length, cut to what passes at once: pushed to, it was copied as it grew
    const out = new Array<L7Message>(batch.length);
    let n = 0;
    let clients = 0;
    // Servers first: a call in this batch may belong to a request in the same batch.
    for (const m of batch) {
      const end = m.respEnd ?? m.reqEnd;
      const clock = this.clockOf(m.host.hostId);
      if (end > clock.watermark) clock.watermark = end;
      if (m.role === 'server') {
        this.timelines.addServer(m);
        out[n++] = m;
      } else clients++;
    }
    // a batch of servers only (a web server's agent) is not walked again: its first messages may be out of the cache by now
    for (let i = 0; clients > 0 && i < batch.length; i++) {
      const m = batch[i];
      if (m.role !== 'client') continue;
      clients--;
      // held calls cost most of this stage (they outlive the young generation): not those already decided
      const settled = this.timelines.settled(m);
      if (settled) {
        this.counts[settled]++;
        out[n++] = m;
      } else {
        this.pending.push(m, nowMs);
      }
    }
    out.length = n;
    this.release(nowMs, false, out);
    this.pruneByDataTime();
    return out;
  }

  /** Decides the calls that have waited long enough (all of them when `all`). */
  release(nowMs: number, all: boolean, out: L7Message[] = []): L7Message[] {
    const over = this.pending.size - this.opts.maxPending;
    let forced = over > 0 ? over : 0;
    while (this.pending.size > 0) {
      const m = this.pending.oldest();
      const ready =
        all ||
        forced > 0 ||
        nowMs - this.pending.oldestArrivedMs() >= this.opts.waitMs ||
        this.clockOf(m.host.hostId).watermark >= m.reqStart + this.waitNs;
      if (!ready) break;
      if (forced > 0) forced--;
      this.counts[this.timelines.linkClient(m)]++;
      out.push(m);
      this.pending.shift();
    }
    this.reportCalls();
    return out;
  }

  /** Wall-clock tick: decide calls held too long, forget old scopes. */
  tick(nowMs: number): L7Message[] {
    const out = this.release(nowMs, false);
    for (const [host, c] of this.clocks) this.timelines.prune(host, c.watermark - this.retentionNs);
    this.report();
    return out;
  }

  flush(): L7Message[] {
    const out = this.release(Infinity, true);
    this.report();
    return out;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  stats() {
    return this.timelines.stats();
  }

  private clockOf(hostId: string): HostClock {
    if (this.lastClock?.hostId === hostId) return this.lastClock;
    let c = this.clocks.get(hostId);
    if (!c) this.clocks.set(hostId, (c = { hostId, watermark: -Infinity, lastPruned: -Infinity }));
    return (this.lastClock = c);
  }

  private pruneByDataTime(): void {
    for (const [host, c] of this.clocks) {
      if (c.watermark - c.lastPruned < this.waitNs) continue;
      c.lastPruned = c.watermark;
      this.timelines.prune(host, c.watermark - this.retentionNs);
    }
  }

  private reportCalls(): void {
    for (const r of CALL_RESULTS) {
      if (this.counts[r]) this.counters.call(r, this.counts[r]);
      this.counts[r] = 0;
    }
  }

  private report(): void {
    const s = this.timelines.stats();
    this.counters.timelines(s.threads, s.scopes);
    if (s.evicted > this.reportedEvictions) {
      this.counters.evicted(s.evicted - this.reportedEvictions);
      this.reportedEvictions = s.evicted;
    }
  }
}

export function correlateThreads(
  opts: CorrelateOptions,
  counters: CorrelateCounters = NO_COUNTERS,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<L7Message[], L7Message[]> {
  // A quarter of the wait: a call is held at most 1.25 × wait of wall time.
  return statefulOperator(() => new ThreadCorrelator(opts, counters), opts.waitMs / 4, scheduler);
}
