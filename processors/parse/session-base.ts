/**
 * What every protocol session shares: the queue of requests waiting for their
 * responses (bounded), and turning a request/response pair into an L7Message.
 */
import { Queue } from '../../core/collections/queue';
import type { HttpFields, L7Message, MysqlFields, NetworkRecord, PostgresqlFields, Protocol, RedisFields } from '../../core/signals';

/** Where a request lay: the record that carried its first byte and that byte's sequence number, the record that carried its last. */
export interface RequestExtent {
  start: NetworkRecord;
  startSeq: number;
  last: NetworkRecord;
}

export interface PendingRequest<F> extends RequestExtent {
  fields: F;
  truncated: boolean;
}

export interface SessionSink {
  emit(m: L7Message): void;
  /** a parsed unit that could not be used: an unmatched response, an evicted request */
  count(what: 'unmatched_response' | 'evicted_request' | 'truncated' | 'hpack_invalid' | 'hpack_unknown' | 'decompressed_oversize' | 'unsupported_compression'): void;
}

export interface SessionOptions {
  /** requests waiting for a response, per connection */
  maxPendingRequests: number;
}

/**
 * The message of a request (its protocol's `fields`) and, unless it got none
 * (`respStart` undefined), its response: the record that carried the
 * response's first byte, that byte's sequence number, and the record that
 * carried its last. One literal with every field of L7Message, those the
 * later stages set among them: every message has one shape, all its fields
 * in the object itself, where fields added one by one (here or by a later
 * stage) gave it another shape and a second store for them.
 */
export function makeMessage(
  protocol: Protocol,
  role: 'client' | 'server',
  fields: unknown,
  req: RequestExtent,
  outcome: L7Message['outcome'],
  respStart?: NetworkRecord,
  respSeq = 0,
  respLast?: NetworkRecord,
): L7Message {
  const r = req.start;
  const answered = respStart !== undefined && respLast !== undefined;
  const utid = r.utid;
  return {
    protocol,
    role,
    pid: r.pid,
    tid: r.tid,
    comm: r.comm,
    connId: r.connId,
    saddr: r.saddr,
    sport: r.sport,
    daddr: r.daddr,
    dport: r.dport,
    netns: r.netns,
    connMeta: r.connMeta,
    host: r.host,
    reqStart: r.ts,
    reqEnd: req.last.tsTail,
    respStart: answered ? respStart.ts : undefined,
    respEnd: answered ? respLast.tsTail : undefined,
    reqSeq: req.startSeq,
    respSeq: answered ? respSeq : undefined,
    respTid: answered ? respStart.tid : undefined,
    utid,
    respUtid: answered && utid ? respStart.utid : 0,
    reqTick: (role === 'server' ? req.last.loopTick : r.loopTick) || 0,
    respTick: (answered && role === 'client' && respLast.loopTick) || 0,
    outcome,
    // the protocol's fields under its own name (http2's under `http`, its session names it after)
    http: protocol === 'http' ? (fields as HttpFields) : undefined,
    redis: protocol === 'redis' ? (fields as RedisFields) : undefined,
    mysql: protocol === 'mysql' ? (fields as MysqlFields) : undefined,
    grpc: undefined,
    postgresql: protocol === 'postgresql' ? (fields as PostgresqlFields) : undefined,
    threadTraceId: undefined,
    propagation: undefined,
  };
}

/** What a RequestQueue tells when it drops a request: its session (a method, not a closure made per connection). */
export interface RequestEvictor<F> {
  evicted(r: PendingRequest<F>): void;
}

/** What drain() hands out when nothing was held. */
const NOTHING: readonly never[] = Object.freeze([]);

/**
 * A first-in first-out queue whose oldest item is held apart from the rest:
 * a connection that does not pipeline has one item at a time, and an array
 * filled and emptied per item would be made anew each time (V8 frees the
 * storage of an emptied array).
 */
export class OldestApartQueue<T> {
  private oldest: T | undefined;
  /** the items after the oldest; made at the first pipelined one */
  private rest: Queue<T> | undefined;

  get size(): number {
    return this.oldest === undefined ? 0 : 1 + (this.rest?.size ?? 0);
  }

  push(item: T): void {
    if (this.oldest === undefined) this.oldest = item;
    else (this.rest ??= new Queue()).push(item);
  }

  /** The oldest item, left in the queue. */
  peek(): T | undefined {
    return this.oldest;
  }

  shift(): T | undefined {
    const item = this.oldest;
    this.oldest = this.rest?.shift();
    return item;
  }

  /** Empties the queue, returning what it held, oldest first. */
  drain(): readonly T[] {
    if (this.oldest === undefined) return NOTHING;
    const all = [this.oldest, ...(this.rest?.drain() ?? NOTHING)];
    this.oldest = undefined;
    return all;
  }

  clear(): void {
    this.oldest = undefined;
    this.rest = undefined;
  }
}

/** A FIFO of requests with a cap; the oldest is dropped (and counted) when full. */
export class RequestQueue<F> extends OldestApartQueue<PendingRequest<F>> {
  /** a request object its session is done with (release), for the next add */
  private spare: PendingRequest<F> | undefined;

  constructor(
    private readonly max: number,
    private readonly evictor: RequestEvictor<F>,
  ) {
    super();
  }

  override push(r: PendingRequest<F>): void {
    if (this.size >= this.max) this.evictor.evicted(this.shift()!);
    super.push(r);
  }

  /** Queues a request, in the object last released when there is one: a connection answered in turn reuses one object instead of making one per request. */
  add(fields: F, start: NetworkRecord, startSeq: number, last: NetworkRecord, truncated: boolean): void {
    const r = this.spare;
    if (r === undefined) {
      this.push({ fields, start, startSeq, last, truncated });
      return;
    }
    this.spare = undefined;
    r.fields = fields;
    r.start = start;
    r.startSeq = startSeq;
    r.last = last;
    r.truncated = truncated;
    this.push(r);
  }

  /** Empties the queue and forgets the request object kept for reuse (its records with it). */
  override clear(): void {
    super.clear();
    this.spare = undefined;
  }

  /** The session is done with a request takeFor gave it (its message made): the next add reuses the object. */
  release(r: PendingRequest<F>): void {
    this.spare = r;
  }

  /**
   * The request a response answers, taken from the queue: the oldest waiting,
   * unless that one's first call came after the response's first call
   * (`responseStart`). Such a response answers an older request, lost with
   * records the probe did not hand over, and pairing it with the oldest would
   * be wrong: undefined then (the queue untouched), as when none waits.
   */
  takeFor(responseStart: NetworkRecord): PendingRequest<F> | undefined {
    const oldest = this.peek();
    // indexes compared as a difference: they wrap at 2^32
    if (oldest === undefined || ((oldest.start.index - responseStart.index) | 0) > 0) return undefined;
    return this.shift();
  }
}
