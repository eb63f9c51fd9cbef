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
import type { HostInfo, L7Message } from '../../core/signals';
import { threadTraceIdOf } from '../../core/message-ids';
import { HostThreads, ThreadTimeline } from './host-threads';
import { ForwardedIds, forwardedKeys } from './forwarded';
import { firstReadOfTick, TickReads } from './loop-ticks';

export const CALL_RESULTS = ['linked', 'linked_tick', 'linked_forwarded', 'ambiguous', 'no_scope', 'no_task'] as const;
export type CallResult = (typeof CALL_RESULTS)[number];

export interface TimelineOptions {
  /** ns a thread stays "serving several requests at once" after the last overlap seen */
  multiplexMemoryNs: number;
  maxThreads: number;
  maxScopesPerThread: number;
  /** link an event loop's calls by its ticks */
  eventLoopTicks: boolean;
  /** link HTTP calls by the ids the application forwards */
  forwardedIds: boolean;
}

export interface TimelineStats {
  threads: number;
  scopes: number;
  /** threads or scopes dropped to stay within the bounds */
  evicted: number;
}

const NO_KEYS: readonly string[] = [];

function isNoTask(m: L7Message): boolean {
  return (m.connMeta & ConnMeta.NO_TASK) !== 0 || m.pid === 0 || m.tid === 0;
}

/**
 * pid and tid as one number: Linux ids stay below 2^22 (PID_MAX_LIMIT), so it is exact.
 * A message with a user-level thread (a Go goroutine: 32 bits) is keyed by it, negative: no clash.
 */
function threadKey(m: L7Message): number {
  return m.utid ? -(m.pid * 4294967296 + m.utid) : m.pid * 4194304 + m.tid;
}

/** Whether the response was written by whoever read the request: the same goroutine, else the same thread. */
function answeredByReader(m: L7Message): boolean {
  if (m.utid) return m.respUtid === m.utid;
  return m.respTid === undefined || m.respTid === m.tid;
}

/** What is known of one host: its threads by thread key (number keys: building string keys cost more than the rest), its inbound requests by forwarded id. */
interface HostTimelines {
  readonly threads: HostThreads;
  forwarded: ForwardedIds | undefined;
}

export class ThreadTimelines {
  /** by host id */
  private readonly hosts = new Map<string, HostTimelines>();
  /** the host looked up last, by its HostInfo (shared by its records): a batch's messages come from one host, and a held call's was just looked up too */
  private lastHost: HostInfo | undefined;
  private lastTimelines: HostTimelines | undefined;
  private threadCount = 0;
  private scopeCount = 0;
  private evicted = 0;

  constructor(private readonly opts: TimelineOptions) {}

  /** Records a server message's scope and gives it its own thread trace id. */
  addServer(m: L7Message): void {
    if (isNoTask(m)) return;
    m.threadTraceId = threadTraceIdOf(m);
    const key = threadKey(m);
    let host = this.timelinesOf(m.host);
    if (!host) {
      this.hosts.set(m.host.hostId, (host = { threads: new HostThreads(), forwarded: undefined }));
      this.lastHost = m.host;
      this.lastTimelines = host;
    }
    const threads = host.threads;
    let t = threads.get(key);
    if (t) threads.touch(t);
    else {
      t = new ThreadTimeline(key);
      if (this.threadCount >= this.opts.maxThreads) this.evictOldestThread(threads);
      this.threadCount++;
      threads.add(t);
    }
    // Without a response the request's end on this thread is unknown: it only marks
    // the thread busy while it was read. A response written by another thread means
    // the request was handed over; what the reading thread did next is not its work.
    const start = m.reqStart;
    const end = Math.max(m.respStart ?? m.reqEnd, start);
    const answered = m.respStart !== undefined && answeredByReader(m);
    if (this.opts.eventLoopTicks && m.reqTick && !m.utid) (t.tickReads ??= new TickReads()).ended(m.reqTick, m.reqEnd, m.threadTraceId);
    const keys = this.opts.forwardedIds ? forwardedKeys(m) : NO_KEYS;
    if (keys.length) (host.forwarded ??= new ForwardedIds()).addServer(keys, m.threadTraceId, start, end);
    t.maxDuration = Math.max(t.maxDuration, end - start);
    const i = t.upperBound(start);
    t.widenOverOverlaps(t, i, start, end, t.maxDuration);
    t.insert(i, start, end, m.threadTraceId, answered);
    this.scopeCount++;
    if (t.size > this.opts.maxScopesPerThread) {
      t.dropFirst();
      this.scopeCount--;
      this.evicted++;
    }
  }

  /**
   * The result of a client call that no message arriving later can change, so
   * that it need not be held: a call without a task, or one made by a thread
   * already seen serving several requests at once around its start (that span
   * only grows) when no other rule could link it (event-loop ticks off, no
   * forwarded id). Undefined for the others.
   */
  settled(m: L7Message): CallResult | undefined {
    if (isNoTask(m)) return 'no_task';
    if (this.opts.eventLoopTicks) return undefined;
    const t = this.timelinesOf(m.host)?.threads.get(threadKey(m));
    if (!t || !this.multiplexedAt(t, m.reqStart)) return undefined;
    return this.opts.forwardedIds && forwardedKeys(m).length ? undefined : 'ambiguous';
  }

  /** Links a client call to the one scope its thread was serving when it started, or says why not. */
  linkClient(m: L7Message): CallResult {
    if (isNoTask(m)) return 'no_task';
    const host = this.timelinesOf(m.host);
    const t = host?.threads.get(threadKey(m));
    let result: CallResult = t ? this.decide(t, m) : 'no_scope';
    if (result !== 'linked' && result !== 'linked_tick' && this.linkForwarded(m, host?.forwarded)) result = 'linked_forwarded';
    // the call's response read may be what the next call of its request is written after
    if (m.respTick && m.respEnd !== undefined && t?.tickReads) t.tickReads.ended(m.respTick, m.respEnd, m.threadTraceId);
    return result;
  }

  /** An HTTP call carrying an id forwarded from the one request of its process open with it (README, "Forwarded ids"). */
  private linkForwarded(m: L7Message, ids: ForwardedIds | undefined): boolean {
    const keys = ids && this.opts.forwardedIds ? forwardedKeys(m) : NO_KEYS;
    const holder = keys.length ? ids!.holderAt(keys, m.reqStart) : undefined;
    if (holder) m.threadTraceId = holder;
    return holder !== undefined;
  }

  private decide(t: ThreadTimeline, m: L7Message): CallResult {
    const at = m.reqStart;
    /** the one scope open at the call's start */
    let found = -1;
    for (let j = t.upperBound(at) - 1; j >= t.first && t.start(j) >= at - t.maxDuration; j--) {
      if (at > t.endOf(j)) continue;
      // a second one: no rule links, whichever they are (an event loop holds hundreds of scopes within the longest one's duration)
      if (found >= 0) return 'ambiguous';
      found = j;
    }
    const multiplexed = this.multiplexedAt(t, at);
    if (found < 0) return multiplexed ? 'ambiguous' : 'no_scope';
    const id = t.threadTraceId(found);
    // A scope that overlapped another lies in the multiplexed span.
    if (!multiplexed && t.answeredByReader(found)) {
      m.threadTraceId = id;
      return 'linked';
    }
    // An event loop: the one request it had open, when the call was written right after a read of that request's (README, "Event loops")
    if (t.answeredByReader(found) && m.reqTick && !m.utid && firstReadOfTick(m.reqTick) && t.tickReads?.ownedBy(m.reqTick, id, t.start(found), at)) {
      m.threadTraceId = id;
      return 'linked_tick';
    }
    return 'ambiguous';
  }

  /** Whether the thread was seen serving several requests at once within the multiplex memory of `at`. */
  private multiplexedAt(t: ThreadTimeline, at: number): boolean {
    const mem = this.opts.multiplexMemoryNs;
    return at >= t.multiplexedFrom - mem && at <= t.multiplexedTo + mem;
  }

  /** Drops scopes that ended before `beforeNs` on `hostId` and threads left with nothing to remember. */
  prune(hostId: string, beforeNs: number): void {
    const host = this.hosts.get(hostId);
    if (!host) return;
    const ids = host.forwarded;
    if (ids) {
      ids.dropEndedBefore(beforeNs);
      if (ids.size === 0) host.forwarded = undefined;
    }
    const threads = host.threads;
    threads.forEach((t) => {
      this.scopeCount -= t.dropEndedBefore(beforeNs);
      if (t.tickReads && t.tickReads.dropBefore(beforeNs) === 0) t.tickReads = undefined;
      if (t.size === 0 && t.multiplexedTo + this.opts.multiplexMemoryNs < beforeNs) {
        threads.delete(t);
        this.threadCount--;
      }
    });
    if (threads.size > 0 || host.forwarded) return;
    this.hosts.delete(hostId);
    if (host === this.lastTimelines) this.lastHost = this.lastTimelines = undefined;
  }

  /** What is known of `host`, if anything. */
  private timelinesOf(host: HostInfo): HostTimelines | undefined {
    if (host === this.lastHost) return this.lastTimelines;
    const found = this.hosts.get(host.hostId);
    // remembered only when found: a host not held is added under its id (addServer)
    if (found) {
      this.lastHost = host;
      this.lastTimelines = found;
    }
    return found;
  }

  stats(): TimelineStats {
    return { threads: this.threadCount, scopes: this.scopeCount, evicted: this.evicted };
  }

  /** Drops the least recently active thread, of `preferred` (the current host) when it has any. */
  private evictOldestThread(preferred: HostThreads): void {
    if (this.evictLeastRecent(preferred)) return;
    for (const host of this.hosts.values()) if (this.evictLeastRecent(host.threads)) return;
  }

  private evictLeastRecent(threads: HostThreads): boolean {
    const t = threads.leastRecentlyActive();
    if (!t) return false;
    threads.delete(t);
    this.threadCount--;
    this.scopeCount -= t.size;
    this.evicted++;
    return true;
  }
}
