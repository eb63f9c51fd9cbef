/**
 * Per-thread request timelines: which inbound request a thread was serving
 * when it made an outbound call. Pure logic over message times (CLOCK_MONOTONIC
 * ns of each message's host); the operator around it owns the clocks.
 *
 * A server message read on thread T opens a scope [request read start,
 * response write start] on T. A client call that T starts inside exactly one
 * such scope, on a thread that serves one request at a time, belongs to it.
 * Anything else is left unlinked: a wrong parent is worse than none.
 */
import { ConnMeta } from '../../core/records/network-data';
import type { L7Message } from '../../core/signals';
import { threadTraceIdOf } from '../../core/message-ids';

export type CallResult = 'linked' | 'ambiguous' | 'no_scope' | 'no_task';

export interface TimelineOptions {
  /** ns a scope is kept after its end (data time) */
  retentionNs: number;
  /** ns a thread stays "serving several requests at once" after the last overlap seen */
  multiplexMemoryNs: number;
  maxThreads: number;
  maxScopesPerThread: number;
}

interface Scope {
  start: number;
  end: number;
  threadTraceId: string;
  /** false when it overlapped another scope or its response was written by another thread */
  linkable: boolean;
}

interface ThreadTimeline {
  /** by start time */
  scopes: Scope[];
  /** data-time span in which the thread was seen with overlapping scopes; from > to when never */
  multiplexedFrom: number;
  multiplexedTo: number;
  /** longest scope held: bounds how far back a scope overlapping a time can start */
  maxDuration: number;
}

/** Index of the first scope starting after `t`. */
function upperBound(scopes: readonly Scope[], t: number): number {
  let lo = 0;
  let hi = scopes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (scopes[mid].start <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface TimelineStats {
  threads: number;
  scopes: number;
  /** threads or scopes dropped to stay within the bounds */
  evicted: number;
}

function isNoTask(m: L7Message): boolean {
  return (m.connMeta & ConnMeta.NO_TASK) !== 0 || m.pid === 0 || m.tid === 0;
}

/** pid and tid as one number: Linux ids stay below 2^22 (PID_MAX_LIMIT), so it is exact. */
function threadKey(m: L7Message): number {
  return m.pid * 4194304 + m.tid;
}

export class ThreadTimelines {
  /** host id → thread key → timeline; number keys: building string keys cost more than the rest */
  private readonly hosts = new Map<string, Map<number, ThreadTimeline>>();
  private threadCount = 0;
  private scopeCount = 0;
  private evicted = 0;

  constructor(private readonly opts: TimelineOptions) {}

  /** Records a server message's scope and gives it its own thread trace id. */
  addServer(m: L7Message): void {
    if (isNoTask(m)) return;
    m.threadTraceId = threadTraceIdOf(m);
    const key = threadKey(m);
    let threads = this.hosts.get(m.host.hostId);
    if (!threads) this.hosts.set(m.host.hostId, (threads = new Map()));
    let t = threads.get(key);
    if (t) {
      // Refresh its place in the eviction order: Maps iterate in insertion order.
      threads.delete(key);
    } else {
      t = { scopes: [], multiplexedFrom: Infinity, multiplexedTo: -Infinity, maxDuration: 0 };
      if (this.threadCount >= this.opts.maxThreads) this.evictOldestThread(threads);
      this.threadCount++;
    }
    threads.set(key, t);
    // Without a response the request's end on this thread is unknown: it only marks
    // the thread busy while it was read. A response written by another thread means
    // the request was handed over; what the reading thread did next is not its work.
    const end = m.respStart ?? m.reqEnd;
    const scope: Scope = {
      start: m.reqStart,
      end: Math.max(end, m.reqStart),
      threadTraceId: m.threadTraceId,
      linkable: m.respStart !== undefined && (m.respTid === undefined || m.respTid === m.tid),
    };
    t.maxDuration = Math.max(t.maxDuration, scope.end - scope.start);
    const i = upperBound(t.scopes, scope.start);
    const overlap = (other: Scope) => {
      if (scope.start <= other.end && other.start <= scope.end) {
        scope.linkable = false;
        other.linkable = false;
        t!.multiplexedFrom = Math.min(t!.multiplexedFrom, scope.start, other.start);
        t!.multiplexedTo = Math.max(t!.multiplexedTo, scope.end, other.end);
      }
    };
    // Only scopes starting within the longest scope's duration before this one can reach it.
    for (let j = i - 1; j >= 0 && t.scopes[j].start >= scope.start - t.maxDuration; j--) overlap(t.scopes[j]);
    for (let j = i; j < t.scopes.length && t.scopes[j].start <= scope.end; j++) overlap(t.scopes[j]);
    t.scopes.splice(i, 0, scope);
    this.scopeCount++;
    if (t.scopes.length > this.opts.maxScopesPerThread) {
      t.scopes.shift();
      this.scopeCount--;
      this.evicted++;
    }
  }

  /** Links a client call to the one scope its thread was serving when it started, or says why not. */
  linkClient(m: L7Message): CallResult {
    if (isNoTask(m)) return 'no_task';
    const t = this.hosts.get(m.host.hostId)?.get(threadKey(m));
    if (!t) return 'no_scope';
    const at = m.reqStart;
    const mem = this.opts.multiplexMemoryNs;
    if (at >= t.multiplexedFrom - mem && at <= t.multiplexedTo + mem) return 'ambiguous';
    let found: Scope | undefined;
    for (let j = upperBound(t.scopes, at) - 1; j >= 0 && t.scopes[j].start >= at - t.maxDuration; j--) {
      if (at <= t.scopes[j].end) {
        if (found) return 'ambiguous';
        found = t.scopes[j];
      }
    }
    if (!found) return 'no_scope';
    if (!found.linkable) return 'ambiguous';
    m.threadTraceId = found.threadTraceId;
    return 'linked';
  }

  /** Drops scopes that ended before `beforeNs` on `hostId` and threads left with nothing to remember. */
  prune(hostId: string, beforeNs: number): void {
    const threads = this.hosts.get(hostId);
    if (!threads) return;
    for (const [key, t] of threads) {
      let drop = 0;
      // scopes are sorted by start, not end: a long scope keeps shorter later ones alive a little longer, which is harmless
      while (drop < t.scopes.length && t.scopes[drop].end < beforeNs) drop++;
      if (drop) {
        t.scopes.splice(0, drop);
        this.scopeCount -= drop;
      }
      if (t.scopes.length === 0 && t.multiplexedTo + this.opts.multiplexMemoryNs < beforeNs) {
        threads.delete(key);
        this.threadCount--;
      }
    }
    if (threads.size === 0) this.hosts.delete(hostId);
  }

  stats(): TimelineStats {
    return { threads: this.threadCount, scopes: this.scopeCount, evicted: this.evicted };
  }

  /** Drops the least recently active thread, of `preferred` (the current host) when it has any. */
  private evictOldestThread(preferred: Map<number, ThreadTimeline>): void {
    for (const threads of [preferred, ...this.hosts.values()]) {
      for (const [key, t] of threads) {
        threads.delete(key);
        this.threadCount--;
        this.scopeCount -= t.scopes.length;
        this.evicted++;
        return;
      }
    }
  }
}
