/**
 * What every protocol session shares: the queue of requests waiting for their
 * responses (bounded), and turning a request/response pair into an L7Message.
 */
import { Queue } from '../../core/collections/queue';
import type { L7Message, NetworkRecord, Protocol } from '../../core/signals';
import type { Position } from './decoder';

export interface PendingRequest<F> {
  fields: F;
  start: Position;
  end: Position;
  truncated: boolean;
}

export interface SessionSink {
  emit(m: L7Message): void;
  /** a parsed unit that could not be used: an unmatched response, an evicted request */
  count(what: 'unmatched_response' | 'evicted_request' | 'truncated'): void;
}

export interface SessionOptions {
  /** requests waiting for a response, per connection */
  maxPendingRequests: number;
}

export function makeMessage(
  protocol: Protocol,
  role: 'client' | 'server',
  req: PendingRequest<unknown>,
  resp: { start: Position; end: Position } | undefined,
  outcome: L7Message['outcome'],
): L7Message {
  const r: NetworkRecord = req.start.rec;
  const m: L7Message = {
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
    reqEnd: req.end.rec.tsTail,
    reqSeq: req.start.seq,
    outcome,
  };
  (m as unknown as Record<string, unknown>)[protocol] = req.fields;
  if (resp) {
    m.respStart = resp.start.rec.ts;
    m.respEnd = resp.end.rec.tsTail;
    m.respSeq = resp.start.seq;
    m.respTid = resp.start.rec.tid;
  }
  return m;
}

/** What a RequestQueue tells when it drops a request: its session (a method, not a closure made per connection). */
export interface RequestEvictor<F> {
  evicted(r: PendingRequest<F>): void;
}

/** A FIFO of requests with a cap; the oldest is dropped (and counted) when full. */
export class RequestQueue<F> extends Queue<PendingRequest<F>> {
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
}
