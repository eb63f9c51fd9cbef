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
import { threadTraceIdOf } from '../espan/ids';

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

function threadKey(m: L7Message): string {
  return `${m.host.hostId}|${m.pid}|${m.tid}`;
}

export class ThreadTimelines {
  private readonly threads = new Map<string, ThreadTimeline>();
  private scopeCount = 0;
  private evicted = 0;

  constructor(private readonly opts: TimelineOptions) {}

  /** Records a server message's scope and gives it its own thread trace id. */
  addServer(m: L7Message): void {
    if (isNoTask(m)) return;
    m.threadTraceId = threadTraceIdOf(m);
    const key = threadKey(m);
    let t = this.threads.get(key);
    if (t) {
      // Refresh its place in the eviction order: Maps iterate in insertion order.
      this.threads.delete(key);
    } else {
      t = { scopes: [], multiplexedFrom: Infinity, multiplexedTo: -Infinity };
      if (this.threads.size >= this.opts.maxThreads) this.evictOldestThread();
    }
    this.threads.set(key, t);
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
    for (const other of t.scopes) {
      if (scope.start <= other.end && other.start <= scope.end) {
        scope.linkable = false;
        other.linkable = false;
        t.multiplexedFrom = Math.min(t.multiplexedFrom, scope.start, other.start);
        t.multiplexedTo = Math.max(t.multiplexedTo, scope.end, other.end);
      }
    }
    let i = t.scopes.length;
    while (i > 0 && t.scopes[i - 1].start > scope.start) i--;
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
    const t = this.threads.get(threadKey(m));
    if (!t) return 'no_scope';
    const at = m.reqStart;
    const mem = this.opts.multiplexMemoryNs;
    if (at >= t.multiplexedFrom - mem && at <= t.multiplexedTo + mem) return 'ambiguous';
    let found: Scope | undefined;
    for (const s of t.scopes) {
      if (s.start > at) break;
      if (at <= s.end) {
        if (found) return 'ambiguous';
        found = s;
      }
    }
    if (!found) return 'no_scope';
    if (!found.linkable) return 'ambiguous';
    m.threadTraceId = found.threadTraceId;
    return 'linked';
  }

  /** Drops scopes that ended before `beforeNs` on `hostId` and threads left with nothing to remember. */
  prune(hostId: string, beforeNs: number): void {
    const prefix = `${hostId}|`;
    for (const [key, t] of this.threads) {
      if (!key.startsWith(prefix)) continue;
      let drop = 0;
      // scopes are sorted by start, not end: a long scope keeps shorter later ones alive a little longer, which is harmless
      while (drop < t.scopes.length && t.scopes[drop].end < beforeNs) drop++;
      if (drop) {
        t.scopes.splice(0, drop);
        this.scopeCount -= drop;
      }
      if (t.scopes.length === 0 && t.multiplexedTo + this.opts.multiplexMemoryNs < beforeNs) this.threads.delete(key);
    }
  }

  stats(): TimelineStats {
    return { threads: this.threads.size, scopes: this.scopeCount, evicted: this.evicted };
  }

  private evictOldestThread(): void {
    for (const [key, t] of this.threads) {
      this.threads.delete(key);
      this.scopeCount -= t.scopes.length;
      this.evicted++;
      return;
    }
  }
}
