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
import { Queue } from '../../core/collections/queue';
import { statefulOperator, type StatefulEngine } from '../../core/stateful-operator';
import type { L7Message } from '../../core/signals';
import { ThreadTimelines, type CallResult, type TimelineOptions } from './timeline';

export interface CorrelateOptions {
  waitMs: number;
  multiplexMemoryMs: number;
  maxThreads: number;
  maxScopesPerThread: number;
  /** client calls held at most; beyond it the oldest are decided at once */
  maxPending: number;
}

export interface CorrelateCounters {
  call(result: CallResult, n: number): void;
  evicted(n: number): void;
  timelines(threads: number, scopes: number): void;
}

const NO_COUNTERS: CorrelateCounters = { call: () => {}, evicted: () => {}, timelines: () => {} };

interface Pending {
  message: L7Message;
  /** scheduler time when it arrived */
  arrivedMs: number;
}

export class ThreadCorrelator implements StatefulEngine<L7Message, L7Message> {
  private readonly timelines: ThreadTimelines;
  private readonly pending = new Queue<Pending>();
  private readonly watermarks = new Map<string, number>();
  private readonly lastPruned = new Map<string, number>();
  private reportedEvictions = 0;
  private readonly waitNs: number;

  constructor(
    private readonly opts: CorrelateOptions,
    private readonly counters: CorrelateCounters = NO_COUNTERS,
  ) {
    this.waitNs = opts.waitMs * 1e6;
    const timelineOpts: TimelineOptions = {
      // A call decided late (held the full wait) may still need a scope that ended a wait before it started.
      retentionNs: 3 * this.waitNs,
      multiplexMemoryNs: opts.multiplexMemoryMs * 1e6,
      maxThreads: opts.maxThreads,
      maxScopesPerThread: opts.maxScopesPerThread,
    };
    this.timelines = new ThreadTimelines(timelineOpts);
  }

  /** Takes a batch; returns what can go on now. */
  add(batch: readonly L7Message[], nowMs: number): L7Message[] {
    const out: L7Message[] = [];
    // Servers first: a call in this batch may belong to a request in the same batch.
    for (const m of batch) {
      const end = m.respEnd ?? m.reqEnd;
      const w = this.watermarks.get(m.host.hostId);
      if (w === undefined || end > w) this.watermarks.set(m.host.hostId, end);
      if (m.role === 'server') {
        this.timelines.addServer(m);
        out.push(m);
      }
    }
    for (const m of batch) {
      if (m.role === 'client') this.pending.push({ message: m, arrivedMs: nowMs });
    }
    this.release(nowMs, false, out);
    this.pruneByDataTime();
    return out;
  }

  /** Decides the calls that have waited long enough (all of them when `all`). */
  release(nowMs: number, all: boolean, out: L7Message[] = []): L7Message[] {
    const counts: Partial<Record<CallResult, number>> = {};
    const over = this.pending.size - this.opts.maxPending;
    let forced = over > 0 ? over : 0;
    while (this.pending.size > 0) {
      const p = this.pending.peek()!;
      const m = p.message;
      const ready =
        all ||
        forced > 0 ||
        nowMs - p.arrivedMs >= this.opts.waitMs ||
        (this.watermarks.get(m.host.hostId) ?? -Infinity) >= m.reqStart + this.waitNs;
      if (!ready) break;
      if (forced > 0) forced--;
      const r = this.timelines.linkClient(m);
      counts[r] = (counts[r] ?? 0) + 1;
      out.push(m);
      this.pending.shift();
    }
    for (const [r, n] of Object.entries(counts)) this.counters.call(r as CallResult, n);
    return out;
  }

  /** Wall-clock tick: decide calls held too long, forget old scopes. */
  tick(nowMs: number): L7Message[] {
    const out = this.release(nowMs, false);
    for (const [host, w] of this.watermarks) this.timelines.prune(host, w - 3 * this.waitNs);
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

  private pruneByDataTime(): void {
    for (const [host, w] of this.watermarks) {
      const last = this.lastPruned.get(host) ?? -Infinity;
      if (w - last < this.waitNs) continue;
      this.lastPruned.set(host, w);
      this.timelines.prune(host, w - 3 * this.waitNs);
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
