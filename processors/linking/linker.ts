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
 * A joined group is emitted once the window of its newest span closes. Then
 * trace ids are assigned (propagated wins, else a late span's emitted trace,
 * else one derived from the root span) and the group's link keys are
 * remembered for a while, so spans arriving after their trace left keep its
 * trace id and find their parent.
 */
import type { ComponentTelemetry } from '../../core/telemetry/metrics';
import { ESPAN } from '../../core/semconv';
import { SpanKind, type Span, type Trace } from '../../core/signals';
import type { LinkingConfig } from './config';
import { traceIdFrom } from './ids';
import { RecentMap } from './recent';

// module-level copies: through the CommonJS interop every `SpanKind.X` is a getter call, on the hot path
const CLIENT = SpanKind.CLIENT;
const SERVER = SpanKind.SERVER;
const THREAD_TRACE_ID = ESPAN.THREAD_TRACE_ID;
const CONN_KEY = ESPAN.CONN_KEY;
const REQ_SEQ = ESPAN.REQ_SEQ;

interface Rec {
  span: Span;
  /** ns since the epoch, as doubles: sub-microsecond precision is not needed to compare */
  start: number;
  end: number;
  kind: SpanKind;
  bucket: number;
  netKey?: string;
  threadKey?: string;
  /** next span of the same network / thread key, in arrival order: index lists without an array per key */
  nextNet?: Rec;
  nextThread?: Rec;
  /** the client span this server span answered (network rule) */
  netParent?: Rec;
  /** the server span whose thread made this client call (in-process rule) */
  threadParent?: Rec;
  /** joined to a span of the other kind by that rule: a late partner is not to be looked for */
  netLinked: boolean;
  threadLinked: boolean;
  /** parent found among the link keys of already emitted traces */
  lateParent?: string;
  /** union-find parent; the group's root points to itself */
  up: Rec;
  /** on a root of more than one span only: every span of the group (most spans stay alone: no array for them) */
  members?: Rec[];
  /** on a root only: newest bucket of the group */
  maxBucket: number;
  emitted: boolean;
}

interface RecentNet {
  traceId: string;
  clientSpanId?: string;
  clientStart: number;
  clientEnd: number;
}

interface RecentThread {
  traceId: string;
  serverSpanId?: string;
  serverStart: number;
  serverEnd: number;
}

interface Bucket {
  recs: Rec[];
  /** scheduler ms when its first span arrived: closes idle or replayed streams */
  openedAt: number;
}

export interface LinkStats {
  network: number;
  thread: number;
  propagated: number;
  late: number;
  evicted: number;
}

function find(r: Rec): Rec {
  let root = r;
  while (root.up !== root) root = root.up;
  // path halving keeps later finds short
  let x = r;
  while (x.up !== root) {
    const next = x.up;
    x.up = root;
    x = next;
  }
  return root;
}

function union(a: Rec, b: Rec): void {
  let ra = find(a);
  let rb = find(b);
  if (ra === rb) return;
  if ((ra.members?.length ?? 1) < (rb.members?.length ?? 1)) [ra, rb] = [rb, ra];
  rb.up = ra;
  const into = (ra.members ??= [ra]);
  if (rb.members) for (const m of rb.members) into.push(m);
  else into.push(rb);
  rb.members = undefined;
  if (rb.maxBucket > ra.maxBucket) ra.maxBucket = rb.maxBucket;
}

function removeNet(index: Map<string, Rec>, key: string, r: Rec): void {
  const head = index.get(key);
  if (head === r) {
    if (r.nextNet) index.set(key, r.nextNet);
    else index.delete(key);
  } else {
    for (let x = head; x; x = x.nextNet) {
      if (x.nextNet === r) {
        x.nextNet = r.nextNet;
        break;
      }
    }
  }
  r.nextNet = undefined;
}

function removeThread(index: Map<string, Rec>, key: string, r: Rec): void {
  const head = index.get(key);
  if (head === r) {
    if (r.nextThread) index.set(key, r.nextThread);
    else index.delete(key);
  } else {
    for (let x = head; x; x = x.nextThread) {
      if (x.nextThread === r) {
        x.nextThread = r.nextThread;
        break;
      }
    }
  }
  r.nextThread = undefined;
}

export class Linker {
  private readonly windowNs: number;
  private readonly skewNs: number;
  /** a bucket closes once span time passed its end by this much */
  private readonly holdNs: number;
  private readonly buckets = new Map<number, Bucket>();
  /** first span of each key; the others follow through nextNet / nextThread */
  private readonly byNet = new Map<string, Rec>();
  private readonly byThread = new Map<string, Rec>();
  private readonly byTraceId = new Map<string, Rec>();
  private readonly recentNet: RecentMap<RecentNet>;
  private readonly recentThread: RecentMap<RecentThread>;
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
  ) {
    this.windowNs = config.link_window * 1e6;
    this.skewNs = config.max_clock_skew * 1e6;
    this.holdNs = config.link_windows * this.windowNs + this.skewNs;
    this.recentNet = new RecentMap(config.max_recent_links);
    this.recentThread = new RecentMap(config.max_recent_links);
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
    for (const span of spans) this.ingest(span, now);
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
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) this.closeBucket(b, out, false);
    this.report();
    return out;
  }

  private ingest(span: Span, now: number): void {
    const start = Number(span.startTimeUnixNano);
    const end = Number(span.endTimeUnixNano);
    let bucket = Math.floor(start / this.windowNs);
    if (bucket <= this.lastClosed) {
      // its window already closed: join the oldest open one so it still links with other late spans
      bucket = this.lastClosed + 1;
      this.stats.late++;
    }
    if (start > this.watermark) this.watermark = start;
    // every field set up front, in one order: one hidden class for all records keeps property access fast
    const rec: Rec = {
      span,
      start,
      end,
      kind: span.kind,
      bucket,
      netKey: undefined,
      threadKey: undefined,
      nextNet: undefined,
      nextThread: undefined,
      netParent: undefined,
      threadParent: undefined,
      netLinked: false,
      threadLinked: false,
      lateParent: undefined,
      up: undefined as unknown as Rec,
      members: undefined,
      maxBucket: bucket,
      emitted: false,
    };
    rec.up = rec;
    let b = this.buckets.get(bucket);
    if (!b) this.buckets.set(bucket, (b = { recs: [], openedAt: now }));
    b.recs.push(rec);
    this.held++;

    const a = span.attributes;
    if (span.traceId) {
      const same = this.byTraceId.get(span.traceId);
      if (same) {
        union(same, rec);
        this.stats.propagated++;
      } else {
        this.byTraceId.set(span.traceId, rec);
      }
    }
    const connKey = a[CONN_KEY];
    const reqSeq = a[REQ_SEQ];
    if (typeof connKey === 'string' && (typeof reqSeq === 'number' || typeof reqSeq === 'bigint')) {
      const key = `${connKey}#${reqSeq}`;
      rec.netKey = key;
      let other = this.byNet.get(key);
      if (other) {
        for (;;) {
          this.linkNetwork(rec, other);
          if (!other.nextNet) break;
          other = other.nextNet;
        }
        other.nextNet = rec;
      } else {
        this.byNet.set(key, rec);
      }
    }
    const thread = a[THREAD_TRACE_ID];
    if (typeof thread === 'string' && thread !== '') {
      // the producer hashes host, process and thread into the id, so it is unique across hosts as it is
      const key = thread;
      rec.threadKey = key;
      let other = this.byThread.get(key);
      if (other) {
        for (;;) {
          this.linkThread(rec, other);
          if (!other.nextThread) break;
          other = other.nextThread;
        }
        other.nextThread = rec;
      } else {
        this.byThread.set(key, rec);
      }
    }
  }

  private linkNetwork(a: Rec, b: Rec): void {
    let client: Rec;
    let server: Rec;
    if (a.kind === CLIENT && b.kind === SERVER) [client, server] = [a, b];
    else if (a.kind === SERVER && b.kind === CLIENT) [client, server] = [b, a];
    else return;
    // the server read what the client wrote: between its write and its end, give or take the skew
    if (server.start < client.start - this.skewNs || server.start > client.end + this.skewNs) return;
    if (server.netParent) {
      // a retransmitted or reused sequence number: keep the client closest in time
      if (Math.abs(server.start - server.netParent.start) <= Math.abs(server.start - client.start)) return;
    }
    server.netParent = client;
    client.netLinked = server.netLinked = true;
    union(client, server);
    this.stats.network++;
  }

  private linkThread(a: Rec, b: Rec): void {
    let server: Rec;
    let client: Rec;
    if (a.kind === SERVER && b.kind === CLIENT) [server, client] = [a, b];
    else if (a.kind === CLIENT && b.kind === SERVER) [server, client] = [b, a];
    else return;
    // same host, same clock: the call must lie within the request it serves
    if (client.start < server.start || client.end > server.end) return;
    const current = client.threadParent;
    // nested server spans on one thread id: the innermost is the direct parent
    if (current && current.end - current.start <= server.end - server.start) return;
    client.threadParent = server;
    client.threadLinked = server.threadLinked = true;
    union(server, client);
    this.stats.thread++;
  }

  /** Closes every bucket up to the newest one that is due by span time or by wall time. */
  private closeDue(now: number, out: Trace[]): void {
    if (this.buckets.size === 0) return;
    const limitNs = this.watermark - this.holdNs;
    const holdMs = this.holdNs / 1e6;
    let dueUpTo = -Infinity;
    for (const [index, b] of this.buckets) {
      if (index <= dueUpTo) continue;
      if ((index + 1) * this.windowNs <= limitNs || now - b.openedAt >= holdMs) dueUpTo = index;
    }
    if (dueUpTo === -Infinity) return;
    const due = [...this.buckets.keys()].filter((i) => i <= dueUpTo).sort((x, y) => x - y);
    for (const i of due) this.closeBucket(i, out, false);
  }

  private evictOldest(out: Trace[]): void {
    let oldest = Infinity;
    for (const i of this.buckets.keys()) if (i < oldest) oldest = i;
    this.closeBucket(oldest, out, true);
  }

  private closeBucket(index: number, out: Trace[], force: boolean): void {
    const b = this.buckets.get(index);
    if (!b) return;
    this.buckets.delete(index);
    if (index > this.lastClosed) this.lastClosed = index;
    for (const rec of b.recs) {
      if (rec.emitted) continue;
      const root = find(rec);
      if (!force && root.maxBucket > index) continue; // its group still grows in a newer window
      const group = root.members ?? [root];
      // before its windows closed: whatever would still have joined it will form a trace of its own
      if (force) this.stats.evicted += group.length;
      this.emit(group, out);
    }
  }

  private emit(group: Rec[], out: Trace[]): void {
    if (group.length > 1) group.sort((x, y) => x.start - y.start);
    let propagatedTraceId: string | undefined;
    // a late span's emitted parent decides its trace; an emitted partner of the other kind only if no parent does
    let parentTraceId: string | undefined;
    let partnerTraceId: string | undefined;
    for (const r of group) {
      r.emitted = true;
      this.held--;
      const s = r.span;
      if (!propagatedTraceId && s.traceId) propagatedTraceId = s.traceId;
      if (r.netKey) {
        removeNet(this.byNet, r.netKey, r);
        // only a span whose partner is missing looks among emitted traces for it
        const seen = r.netLinked ? undefined : this.recentNet.get(r.netKey);
        if (seen) {
          if (r.kind === SERVER && seen.clientSpanId && r.start >= seen.clientStart - this.skewNs && r.start <= seen.clientEnd + this.skewNs) {
            r.lateParent = seen.clientSpanId;
            parentTraceId ??= seen.traceId;
          } else {
            partnerTraceId ??= seen.traceId;
          }
        }
      }
      if (r.threadKey) {
        removeThread(this.byThread, r.threadKey, r);
        const seen = r.threadLinked ? undefined : this.recentThread.get(r.threadKey);
        if (seen) {
          if (r.kind === CLIENT && seen.serverSpanId && r.start >= seen.serverStart && r.end <= seen.serverEnd) {
            r.lateParent = seen.serverSpanId;
            parentTraceId ??= seen.traceId;
          } else {
            partnerTraceId ??= seen.traceId;
          }
        }
      }
      if (s.traceId && this.byTraceId.get(s.traceId) === r) this.byTraceId.delete(s.traceId);
    }

    let root: Rec | undefined;
    for (const r of group) {
      const s = r.span;
      if (!s.parentSpanId) {
        const parent = r.netParent?.span.spanId ?? r.threadParent?.span.spanId ?? r.lateParent;
        if (parent) s.parentSpanId = parent;
        else root ??= r;
      }
    }
    root ??= group[0];
    const traceId = propagatedTraceId ?? parentTraceId ?? partnerTraceId ?? traceIdFrom(`${root.span.spanId}|${root.start}`);

    let mixed = false;
    for (const r of group) {
      const s = r.span;
      if (!s.traceId) s.traceId = traceId;
      else if (s.traceId !== traceId) mixed = true;
    }
    this.remember(group);

    if (!mixed) {
      out.push({ traceId, spans: group.map((r) => r.span) });
      return;
    }
    // spans that brought their own, different trace id keep it: their SDK children elsewhere use it
    const byId = new Map<string, Span[]>();
    for (const r of group) {
      const list = byId.get(r.span.traceId);
      if (list) list.push(r.span);
      else byId.set(r.span.traceId, [r.span]);
    }
    for (const [id, spans] of byId) out.push({ traceId: id, spans });
  }

  /** Link keys of an emitted group, so late spans find trace id and parent. */
  private remember(group: Rec[]): void {
    if (this.config.max_recent_links <= 0) return;
    for (const r of group) {
      // the span that can be a parent always writes; the other kind only fills a gap (a lookup only for it)
      if (r.netKey) {
        if (r.kind === CLIENT) {
          this.recentNet.set(r.netKey, { traceId: r.span.traceId, clientSpanId: r.span.spanId, clientStart: r.start, clientEnd: r.end });
        } else if (!this.recentNet.get(r.netKey)) {
          this.recentNet.set(r.netKey, { traceId: r.span.traceId, clientStart: 0, clientEnd: 0 });
        }
      }
      if (r.threadKey) {
        if (r.kind === SERVER) {
          this.recentThread.set(r.threadKey, { traceId: r.span.traceId, serverSpanId: r.span.spanId, serverStart: r.start, serverEnd: r.end });
        } else if (!this.recentThread.get(r.threadKey)) {
          this.recentThread.set(r.threadKey, { traceId: r.span.traceId, serverStart: 0, serverEnd: 0 });
        }
      }
    }
  }
}
