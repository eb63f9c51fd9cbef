/**
 * The linker's state, free of RxJS so tests and the benchmark drive it
 * directly. Spans wait in link windows bucketed by their start time; spans
 * that belong together are joined (union-find) as they arrive, by three rules:
 *
 * - network: a CLIENT and a SERVER span with the same connection key and
 *   request sequence number (the client wrote the bytes the server read),
 *   server start within the client's time range widened by the clock skew:
 *   the client span is the server span's parent;
 * - in-process: a SERVER span and the CLIENT spans of the same thread trace
 *   id (unique across hosts: the agent hashes the host into it) that it
 *   covers in time: it is their parent;
 * - propagated: spans carrying the same trace id (W3C/Datadog/B3 headers, or
 *   SDK spans arriving over OTLP) are one trace, parents as given.
 *
 * A joined group is emitted once the window of its newest span closes (or
 * earlier, when max_spans is reached), as a whole trace (`Trace.whole`: tail
 * sampling need not wait for more). Then trace ids are assigned (propagated wins, else a late span's emitted trace,
 * else one derived from the root span) and the group's link keys are
 * remembered for a while, so spans arriving after their trace left keep its
 * trace id and find their parent.
 */
import type { ComponentTelemetry } from '../../core/telemetry/metrics';
import { FNV1A32_OFFSET, fnv1a32 } from '../../core/hash';
import { ESPAN } from '../../core/semconv';
import { SpanKind, type Span, type Trace } from '../../core/signals';
import type { StatefulEngine } from '../../core/stateful-operator';
import type { LinkingConfig } from './config';
import { rootTraceId } from './ids';
import { RecentLinks } from './recent';
import { SlotIndex } from './slot-index';
import { nsNumber } from './times';
import { EMITTED, GROUPED, HAS_NET_PARENT, HAS_THREAD_PARENT, LATE, NET_LINKED, NONE, Slots, THREAD_LINKED, TRACE_LISTED, WINDOW_CLOSED } from './slots';

// module-level copies: through the CommonJS interop every `SpanKind.X` is a getter call, on the hot path
const CLIENT = SpanKind.CLIENT;
const SERVER = SpanKind.SERVER;
const THREAD_TRACE_ID = ESPAN.THREAD_TRACE_ID;
const CONN_KEY = ESPAN.CONN_KEY;
const REQ_SEQ = ESPAN.REQ_SEQ;

interface Bucket {
  index: number;
  /**
   * the slots listed in this window, in arrival order, chained through the
   * slots' nextInBucket (some may have left early, see EMITTED): no array
   * per window, grown by copying as it filled and kept for its seconds
   */
  first: number;
  last: number;
  /** scheduler ms when its first span arrived: closes idle or replayed streams */
  openedAt: number;
}

/**
 * Why a window closes: it is due, max_spans was reached (then only its
 * oldest spans may leave), or the input completed. Traces leave whole but at shutdown: what would have joined
 * them after an early close joins their id later, as late spans do.
 */
type Closing = 'due' | 'evicted' | 'flushed';

export interface LinkStats {
  network: number;
  thread: number;
  propagated: number;
  late: number;
  evicted: number;
}

/**
 * The network key's sequence number as compared: a bigint in the safe range
 * (as some decoders give every integer) equals the number of the same value.
 */
function seqOf(seq: number | bigint): number | bigint {
  return typeof seq === 'bigint' && seq >= -9007199254740991n && seq <= 9007199254740991n ? Number(seq) : seq;
}

/** The hash of the linker's key indexes: a string from a seed, to 32 bits. */
export type KeyHash = (key: string, seed?: number) => number;

/** Takes slot `r` out of the list of its hash in `index`, chained through `next`. */
function unlink(index: SlotIndex, next: Int32Array, hash: number, r: number): void {
  const head = index.replaceFirst(hash, r, next[r]);
  if (head === r) return;
  for (let x = head; x !== NONE; x = next[x]) {
    if (next[x] === r) {
      next[x] = next[r];
      return;
    }
  }
}

export class Linker implements StatefulEngine<Span, Trace> {
  private readonly windowNs: number;
  private readonly skewNs: number;
  /** a bucket closes once span time passed its end by this much */
  private readonly holdNs: number;
  private readonly buckets = new Map<number, Bucket>();
  /** the bucket the last span went to: consecutive spans mostly share one */
  private lastBucket: Bucket | undefined;
  private readonly slots: Slots;
  /** first held span of each network key / thread id hash, the others following through nextNet / nextThread */
  private readonly byNet = new SlotIndex();
  private readonly byThread = new SlotIndex();
  /** first held span of each trace id hash, others of other ids of that hash following through nextTrace */
  private readonly byTraceId = new SlotIndex();
  /** network keys of emitted spans, with their client span (span id, time range) if it wrote the entry */
  private readonly recentNet: RecentLinks;
  /** thread trace ids of emitted spans, with their server span if it wrote the entry */
  private readonly recentThread: RecentLinks;
  /** emit's scratch: the group by start time, the parents found among emitted traces, and the entries each member found there */
  private readonly group: number[] = [];
  private readonly lateParents: Array<string | undefined> = [];
  private readonly seenNet: number[] = [];
  private readonly seenThread: number[] = [];
  /** highest bucket already closed; spans older than this are late */
  private lastClosed = -Infinity;
  /** newest span start seen: the event-time clock */
  private watermark = -Infinity;
  private held = 0;
  readonly stats: LinkStats = { network: 0, thread: 0, propagated: 0, late: 0, evicted: 0 };

  constructor(
    private readonly config: LinkingConfig,
    private readonly now: () => number,
    private readonly telemetry?: ComponentTelemetry,
    private readonly hash: KeyHash = fnv1a32,
  ) {
    this.windowNs = config.link_window * 1e6;
    this.skewNs = config.max_clock_skew * 1e6;
    this.holdNs = config.link_windows * this.windowNs + this.skewNs;
    this.slots = new Slots(config.max_spans);
    this.recentNet = new RecentLinks(config.max_recent_links, true);
    this.recentThread = new RecentLinks(config.max_recent_links, false);
    if (telemetry) {
      const links = telemetry.counter('espan_linking_links_total', 'Spans joined to another, by join rule.', ['rule']);
      const late = telemetry.counter('espan_linking_late_spans_total', 'Spans that arrived after their link window had closed.');
      const evicted = telemetry.counter(
        'espan_linking_spans_evicted_early_total',
        'Spans emitted before their windows closed because max_spans was reached; their traces may be split.',
      );
      this.report = () => {
        const s = this.stats;
        if (s.network) links(s.network, { rule: 'network' });
        if (s.thread) links(s.thread, { rule: 'thread' });
        if (s.propagated) links(s.propagated, { rule: 'propagated' });
        if (s.late) late(s.late);
        if (s.evicted) evicted(s.evicted);
        s.network = s.thread = s.propagated = s.late = s.evicted = 0;
      };
    }
  }

  private readonly report: () => void = () => {};

  /** Spans held now. */
  get size(): number {
    return this.held;
  }

  /** Takes a batch of spans; returns the traces whose windows closed. */
  add(spans: readonly Span[]): Trace[] {
    const out: Trace[] = [];
    const now = this.now();
    // indexed: add runs once a batch, often before V8 optimises it, and a for-of then makes a result object per span
    for (let i = 0; i < spans.length; i++) this.ingest(spans[i], now);
    this.closeDue(now, out);
    while (this.held > this.config.max_spans && this.buckets.size > 0) this.evictOldest(out);
    this.report();
    return out;
  }

  /** Timer: closes windows by wall time too, for idle streams and replays. */
  tick(): Trace[] {
    const out: Trace[] = [];
    this.closeDue(this.now(), out);
    this.report();
    return out;
  }

  /** Input completed: emit everything. */
  flush(): Trace[] {
    const out: Trace[] = [];
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) this.closeBucket(b, out, 'flushed');
    this.report();
    return out;
  }

  private ingest(span: Span, now: number): void {
    const start = nsNumber(span.startTimeUnixNano);
    const end = nsNumber(span.endTimeUnixNano);
    let bucket = Math.floor(start / this.windowNs);
    const late = bucket <= this.lastClosed;
    if (late) {
      // its window already closed: join the oldest open one so it still links with other late spans
      bucket = this.lastClosed + 1;
      this.stats.late++;
    }
    if (start > this.watermark) this.watermark = start;
    const sl = this.slots;
    const s = sl.alloc();
    sl.spans[s] = span;
    sl.setRange(s, start, end);
    sl.kind[s] = span.kind;
    // the window of a late span is written down; that of its start is worked out again when it joins another (asRoot)
    if (late) {
      sl.flags[s] = LATE;
      sl.maxBucket[s] = bucket;
    } else {
      sl.flags[s] = 0;
    }
    sl.nextMember[s] = NONE;
    let b = this.lastBucket;
    if (b?.index !== bucket) {
      b = this.buckets.get(bucket);
      if (!b) this.buckets.set(bucket, (b = { index: bucket, first: NONE, last: NONE, openedAt: now }));
      this.lastBucket = b;
    }
    sl.nextInBucket[s] = NONE;
    if (b.last === NONE) b.first = s;
    else sl.nextInBucket[b.last] = s;
    b.last = s;
    this.held++;

    const a = span.attributes;
    const traceId = span.traceId;
    if (traceId) {
      const h = this.hash(traceId);
      // the first span of its hash is listed at once; a span of an id already listed is not
      const head = this.byTraceId.firstOrAdd(h, s);
      let same = NONE;
      let last = NONE;
      for (let x = head; x !== NONE; x = sl.nextTrace[x]) {
        if (sl.spans[x]!.traceId === traceId) {
          same = x;
          break;
        }
        last = x;
      }
      if (same !== NONE) {
        this.union(same, s);
        this.stats.propagated++;
      } else {
        sl.traceHash[s] = h;
        sl.nextTrace[s] = NONE;
        sl.flags[s] |= TRACE_LISTED;
        if (last !== NONE) sl.nextTrace[last] = s;
      }
    }
    const conn = a[CONN_KEY];
    const rawSeq = a[REQ_SEQ];
    if (typeof conn === 'string' && (typeof rawSeq === 'number' || typeof rawSeq === 'bigint')) {
      const seq = seqOf(rawSeq);
      const h = this.netHash(conn, seq);
      sl.netConn[s] = conn;
      sl.setSeq(s, seq);
      sl.netHash[s] = h;
      sl.nextNet[s] = NONE;
      const head = this.byNet.firstOrAdd(h, s);
      if (head !== NONE) {
        // the list holds every key of this hash, in arrival order
        let other = head;
        for (;;) {
          if (sl.netConn[other] === conn && sl.seqEquals(other, seq)) this.linkNetwork(s, other);
          const next = sl.nextNet[other];
          if (next === NONE) break;
          other = next;
        }
        sl.nextNet[other] = s;
      }
    }
    const thread = a[THREAD_TRACE_ID];
    if (typeof thread === 'string' && thread !== '') {
      // the producer hashes host, process and thread into the id, so it is unique across hosts as it is
      const h = this.hash(thread);
      sl.threadKey[s] = thread;
      sl.threadHash[s] = h;
      sl.nextThread[s] = NONE;
      const head = this.byThread.firstOrAdd(h, s);
      if (head !== NONE) {
        let other = head;
        for (;;) {
          if (sl.threadKey[other] === thread) this.linkThread(s, other);
          const next = sl.nextThread[other];
          if (next === NONE) break;
          other = next;
        }
        sl.nextThread[other] = s;
      }
    }
  }

  /** A network key's hash: the connection key hashed from a seed of the sequence number, no string built per span. */
  private netHash(conn: string, seq: number | bigint): number {
    return this.hash(conn, (typeof seq === 'number' ? seq : Number(BigInt.asIntN(32, seq))) ^ FNV1A32_OFFSET);
  }

  private find(s: number): number {
    const { up, flags } = this.slots;
    if (!(flags[s] & GROUPED)) return s;
    let root = s;
    while (up[root] !== root) root = up[root];
    // path compression keeps later finds short
    while (up[s] !== root) {
      const next = up[s];
      up[s] = root;
      s = next;
    }
    return root;
  }

  private union(a: number, b: number): void {
    const sl = this.slots;
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    this.asRoot(ra);
    this.asRoot(rb);
    if (sl.size[ra] < sl.size[rb]) [ra, rb] = [rb, ra];
    sl.up[rb] = ra;
    // members in join order: ra's, then rb's
    sl.nextMember[sl.tail[ra]] = rb;
    sl.tail[ra] = sl.tail[rb];
    sl.size[ra] += sl.size[rb];
    if (sl.maxBucket[rb] > sl.maxBucket[ra]) sl.maxBucket[ra] = sl.maxBucket[rb];
  }

  /** A span alone made the root of its group of one (up, size, tail and its window written), for union. */
  private asRoot(s: number): void {
    const sl = this.slots;
    if (sl.flags[s] & GROUPED) return;
    sl.flags[s] |= GROUPED;
    sl.up[s] = s;
    sl.size[s] = 1;
    sl.tail[s] = s;
    if (!(sl.flags[s] & LATE)) sl.maxBucket[s] = Math.floor(sl.start[s] / this.windowNs);
  }

  private linkNetwork(a: number, b: number): void {
    const sl = this.slots;
    const { kind, start, netParent, flags } = sl;
    let client: number;
    let server: number;
    if (kind[a] === CLIENT && kind[b] === SERVER) [client, server] = [a, b];
    else if (kind[a] === SERVER && kind[b] === CLIENT) [client, server] = [b, a];
    else return;
    // the server read what the client wrote: between its write and its end, give or take the skew
    if (start[server] < start[client] - this.skewNs || start[server] > sl.endOf(client) + this.skewNs) return;
    const current = flags[server] & HAS_NET_PARENT ? netParent[server] : NONE;
    if (current !== NONE) {
      // a retransmitted or reused sequence number: keep the client closest in time
      if (Math.abs(start[server] - start[current]) <= Math.abs(start[server] - start[client])) return;
    }
    netParent[server] = client;
    flags[client] |= NET_LINKED;
    flags[server] |= NET_LINKED | HAS_NET_PARENT;
    this.union(client, server);
    this.stats.network++;
  }

  private linkThread(a: number, b: number): void {
    const sl = this.slots;
    const { kind, start, threadParent, flags } = sl;
    let server: number;
    let client: number;
    if (kind[a] === SERVER && kind[b] === CLIENT) [server, client] = [a, b];
    else if (kind[a] === CLIENT && kind[b] === SERVER) [server, client] = [b, a];
    else return;
    // same host, same clock: the call must lie within the request it serves
    const serverEnd = sl.endOf(server);
    if (start[client] < start[server] || sl.endOf(client) > serverEnd) return;
    const current = flags[client] & HAS_THREAD_PARENT ? threadParent[client] : NONE;
    // nested server spans on one thread id: the innermost is the direct parent
    if (current !== NONE && sl.endOf(current) - start[current] <= serverEnd - start[server]) return;
    threadParent[client] = server;
    flags[client] |= THREAD_LINKED | HAS_THREAD_PARENT;
    flags[server] |= THREAD_LINKED;
    this.union(server, client);
    this.stats.thread++;
  }

  /** Closes every bucket up to the newest one that is due by span time or by wall time. */
  private closeDue(now: number, out: Trace[]): void {
    if (this.buckets.size === 0) return;
    const limitNs = this.watermark - this.holdNs;
    const holdMs = this.holdNs / 1e6;
    let dueUpTo = -Infinity;
    // the buckets' values, not entries: no [index, bucket] pair made per bucket at every batch
    for (const b of this.buckets.values()) {
      if (b.index <= dueUpTo) continue;
      if ((b.index + 1) * this.windowNs <= limitNs || now - b.openedAt >= holdMs) dueUpTo = b.index;
    }
    if (dueUpTo === -Infinity) return;
    const due = [...this.buckets.keys()].filter((i) => i <= dueUpTo).sort((x, y) => x - y);
    for (const i of due) this.closeBucket(i, out, 'due');
  }

  /**
   * Emits the oldest window's spans, oldest first, until max_spans are held:
   * the rest of the window stays, open. Evicting whole windows emitted ~200k
   * spans in one turn at a sustained unpaced load, and the kernel ring
   * overflowed while espan did.
   */
  private evictOldest(out: Trace[]): void {
    let oldest = Infinity;
    for (const i of this.buckets.keys()) if (i < oldest) oldest = i;
    this.closeBucket(oldest, out, 'evicted', this.config.max_spans);
  }

  /** Closes a window, or with `evictDownTo` evicts its oldest spans until that many are held (then it stays open). */
  private closeBucket(index: number, out: Trace[], closing: Closing, evictDownTo = -1): void {
    const b = this.buckets.get(index);
    if (!b) return;
    const sl = this.slots;
    let s = b.first;
    for (let next: number; s !== NONE; s = next) {
      if (this.held <= evictDownTo) break;
      next = sl.nextInBucket[s];
      if (sl.state[s] === EMITTED) {
        // its group left already: from this window, or early from an older one (evicted)
        sl.release(s);
        continue;
      }
      const root = this.find(s);
      // its group still grows in a newer window (a span alone lives in this one only): this slot is freed when the group leaves
      if (closing !== 'evicted' && sl.flags[root] & GROUPED && sl.maxBucket[root] > index) {
        sl.flags[s] |= WINDOW_CLOSED;
        continue;
      }
      // before its windows closed: whatever would still have joined it will form a trace of its own
      if (closing === 'evicted') this.stats.evicted += sl.flags[root] & GROUPED ? sl.size[root] : 1;
      this.emit(root, out, closing !== 'flushed');
      // the group's members in this window are freed as the walk reaches them, this one now
      sl.release(s);
    }
    if (s !== NONE) {
      b.first = s;
      return;
    }
    this.buckets.delete(index);
    if (this.lastBucket === b) this.lastBucket = undefined;
    if (index > this.lastClosed) this.lastClosed = index;
  }

  /** Emits the group of `root` as one trace per trace id; `whole` unless the input completed. */
  private emit(root: number, out: Trace[], whole: boolean): void {
    const sl = this.slots;
    const { spans, start } = sl;
    // members in join order, sorted by start; insertion keeps ties in join order and most groups are short
    const group = this.group;
    let n = 0;
    for (let s = root; s !== NONE; s = sl.nextMember[s]) {
      let j = n++;
      while (j > 0 && start[group[j - 1]] > start[s]) {
        group[j] = group[j - 1];
        j--;
      }
      group[j] = s;
    }
    const lateParents = this.lateParents;
    let propagatedTraceId: string | undefined;
    // a late span's emitted parent decides its trace; an emitted partner of the other kind only if no parent does
    let parentTraceId: string | undefined;
    let partnerTraceId: string | undefined;
    for (let i = 0; i < n; i++) {
      const r = group[i];
      lateParents[i] = undefined;
      this.held--;
      const s = spans[r]!;
      if (!propagatedTraceId && s.traceId) propagatedTraceId = s.traceId;
      const conn = sl.netConn[r];
      if (conn !== undefined) {
        unlink(this.byNet, sl.nextNet, sl.netHash[r], r);
        // only a span whose partner is missing looks among emitted traces for it
        const recent = this.recentNet;
        const seen = sl.flags[r] & NET_LINKED ? NONE : recent.find(sl.netHash[r], conn, sl.seq(r));
        this.seenNet[i] = seen;
        if (seen !== NONE) {
          const at = start[r];
          const client = sl.kind[r] === SERVER ? recent.spanId(seen) : undefined;
          if (client && at >= recent.start(seen) - this.skewNs && at <= recent.end(seen) + this.skewNs) {
            lateParents[i] = client;
            parentTraceId ??= recent.traceId(seen);
          } else {
            partnerTraceId ??= recent.traceId(seen);
          }
        }
      }
      const thread = sl.threadKey[r];
      if (thread !== undefined) {
        unlink(this.byThread, sl.nextThread, sl.threadHash[r], r);
        const recent = this.recentThread;
        const seen = sl.flags[r] & THREAD_LINKED ? NONE : recent.find(sl.threadHash[r], thread, undefined);
        this.seenThread[i] = seen;
        if (seen !== NONE) {
          const server = sl.kind[r] === CLIENT ? recent.spanId(seen) : undefined;
          if (server && start[r] >= recent.start(seen) && sl.endOf(r) <= recent.end(seen)) {
            lateParents[i] = server;
            parentTraceId ??= recent.traceId(seen);
          } else {
            partnerTraceId ??= recent.traceId(seen);
          }
        }
      }
      if (sl.flags[r] & TRACE_LISTED) unlink(this.byTraceId, sl.nextTrace, sl.traceHash[r], r);
    }

    let first = NONE;
    for (let i = 0; i < n; i++) {
      const r = group[i];
      const s = spans[r]!;
      if (!s.parentSpanId) {
        const np = sl.flags[r] & HAS_NET_PARENT ? sl.netParent[r] : NONE;
        const tp = sl.flags[r] & HAS_THREAD_PARENT ? sl.threadParent[r] : NONE;
        const parent = (np !== NONE ? spans[np]!.spanId : undefined) ?? (tp !== NONE ? spans[tp]!.spanId : undefined) ?? lateParents[i];
        if (parent) s.parentSpanId = parent;
        else if (first === NONE) first = r;
      }
    }
    if (first === NONE) first = group[0];
    const traceId = propagatedTraceId ?? parentTraceId ?? partnerTraceId ?? rootTraceId(spans[first]!.spanId, start[first]);

    const traceSpans: Span[] = new Array(n);
    let mixed = false;
    for (let i = 0; i < n; i++) {
      const s = spans[group[i]]!;
      traceSpans[i] = s;
      if (!s.traceId) s.traceId = traceId;
      else if (s.traceId !== traceId) mixed = true;
    }
    this.remember(n);
    // a slot listed in a window that closed before is freed now; one in this window or one still open
    // (evicted early) when the window's walk reaches it
    for (let i = 0; i < n; i++) {
      const r = group[i];
      if (sl.flags[r] & WINDOW_CLOSED) sl.release(r);
      else sl.state[r] = EMITTED;
    }

    if (!mixed) {
      out.push({ traceId, spans: traceSpans, whole });
      return;
    }
    // spans that brought their own, different trace id keep it: their SDK children elsewhere use it
    const byId = new Map<string, Span[]>();
    for (const s of traceSpans) {
      const list = byId.get(s.traceId);
      if (list) list.push(s);
      else byId.set(s.traceId, [s]);
    }
    for (const [id, list] of byId) out.push({ traceId: id, spans: list, whole });
  }

  /**
   * Link keys of the group being emitted (the first `n` of `this.group`), so
   * late spans find trace id and parent. Whether a key is there already is
   * what emit found (seenNet, seenThread) until the group's first entry of
   * that kind is written: a second look-up per span in a table of megabytes.
   */
  private remember(n: number): void {
    if (this.config.max_recent_links <= 0) return;
    const sl = this.slots;
    let netWritten = false;
    let threadWritten = false;
    for (let i = 0; i < n; i++) {
      const r = this.group[i];
      const s = sl.spans[r]!;
      // a network key names one request: once client and server left together, no late span has it
      const conn = sl.netConn[r];
      if (conn !== undefined && !(sl.flags[r] & NET_LINKED)) {
        const seq = sl.seq(r);
        const h = sl.netHash[r];
        // the span that can be a parent writes; the other kind only fills a gap
        if (sl.kind[r] === CLIENT) {
          this.recentNet.add(h, conn, seq, s.traceId, s.spanId, sl.start[r], sl.endOf(r));
          netWritten = true;
        } else if ((netWritten ? this.recentNet.find(h, conn, seq) : this.seenNet[i]) === NONE) {
          this.recentNet.add(h, conn, seq, s.traceId, undefined, 0, 0);
          netWritten = true;
        }
      }
      // a thread serves request after request, and a late call may still come: its server always writes;
      // a linked call does not even fill a gap, as its server is in this group
      const thread = sl.threadKey[r];
      if (thread !== undefined) {
        const h = sl.threadHash[r];
        if (sl.kind[r] === SERVER) {
          this.recentThread.add(h, thread, undefined, s.traceId, s.spanId, sl.start[r], sl.endOf(r));
          threadWritten = true;
        } else if (!(sl.flags[r] & THREAD_LINKED) && (threadWritten ? this.recentThread.find(h, thread, undefined) : this.seenThread[i]) === NONE) {
          this.recentThread.add(h, thread, undefined, s.traceId, undefined, 0, 0);
          threadWritten = true;
        }
      }
    }
  }
}
