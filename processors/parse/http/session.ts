/**
 * HTTP/1.x on one connection: decodes heads and frames bodies in each
 * direction, pairs responses with requests in order (pipelining), passes over
 * 1xx interim responses, and stops at a protocol switch (101, CONNECT).
 */
import type { HttpFields, NetworkRecord } from '../../../core/signals';
import { Dir, INVALID, NEED_MORE, step, type ProtocolSession, type StepResult } from '../decoder';
import { makeMessage, OldestApartQueue, RequestQueue, type PendingRequest, type SessionOptions, type SessionSink } from '../session-base';
import {
  BodyKind,
  emptyRequestHead,
  emptyResponseHead,
  looksLikeRequestLine,
  looksLikeStatusLine,
  parseChunkLine,
  parsePartialHead,
  parseRequestHead,
  parseResponseHead,
  parseTrailer,
  splitTarget,
  type HttpRequestHead,
  type HttpResponseHead,
} from './parser';

/**
 * The heads every session parses into: what a head says is taken before the
 * next is parsed (a request's fields into its HttpFields, a response's status
 * as its value), so none is made per message.
 */
const requestHead = emptyRequestHead();
const responseHead = emptyResponseHead();

interface DirectionState {
  /** inside a chunked body: 1 = expecting a size line, 2 = expecting the trailer */
  chunked: 0 | 1 | 2;
  bodySize: number;
}

export class HttpSession implements ProtocolSession {
  private readonly queue: RequestQueue<HttpFields>;
  private readonly requestState: DirectionState = { chunked: 0, bodySize: 0 };
  private readonly responseState: DirectionState = { chunked: 0, bodySize: 0 };
  /** the methods of the requests decoded and not answered yet, oldest first: HEAD and CONNECT responses are framed by them */
  private readonly methodsInFlight = new OldestApartQueue<string>();
  abandoned!: boolean;
  /** one final response per request, in order: pairing waits for the directions to line up after a loss (alignment.ts) */
  readonly answersInOrder = true;

  constructor(
    private readonly role: 'client' | 'server',
    private readonly sink: SessionSink,
    opts: SessionOptions,
  ) {
    this.queue = new RequestQueue(opts.maxPendingRequests, this);
    this.restart();
  }

  restart(): void {
    this.queue.clear();
    this.methodsInFlight.clear();
    this.requestState.chunked = this.responseState.chunked = 0;
    this.requestState.bodySize = this.responseState.bodySize = 0;
    this.abandoned = false;
  }

  /** the queue was full: its oldest request is given up on */
  evicted(r: PendingRequest<HttpFields>): void {
    this.sink.count('evicted_request');
    this.sink.emit(makeMessage('http', this.role, r.fields, r, 'no_response'));
  }

  private state(dir: Dir): DirectionState {
    return dir === Dir.REQUEST ? this.requestState : this.responseState;
  }

  decode(dir: Dir, buf: Uint8Array, at: number, end: number): StepResult {
    if (this.abandoned) return step(end - at, 0, false, false);
    const st = this.state(dir);
    if (st.chunked === 1) {
      const c = parseChunkLine(buf, at, end);
      if (c === NEED_MORE || c === INVALID) return c;
      if (c.size === 0) {
        st.chunked = 2;
        return step(c.lineLength, 0, false, false);
      }
      st.bodySize += c.size;
      return step(c.lineLength, c.size + 2, false, false);
    }
    if (st.chunked === 2) {
      const n = parseTrailer(buf, at, end);
      if (n === NEED_MORE || n === INVALID) return n;
      st.chunked = 0;
      return step(n, 0, false, true);
    }
    if (dir === Dir.REQUEST) {
      const h = parseRequestHead(buf, at, end, requestHead);
      if (h === NEED_MORE || h === INVALID) return h;
      this.methodsInFlight.push(h.method);
      if (this.methodsInFlight.size > 256) this.methodsInFlight.shift();
      return this.bodyStep(st, h, requestFields(h));
    }
    const h = parseResponseHead(buf, at, end, this.methodsInFlight.peek(), responseHead);
    if (h === NEED_MORE || h === INVALID) return h;
    // an interim response (100 Continue, 103 Early Hints) is no message: the final one follows
    if (isInterim(h.status)) return step(h.headLength, 0, false, false);
    this.methodsInFlight.shift();
    return this.bodyStep(st, h, h.status);
  }

  /** `value` is what complete() gets: a request's fields, a response's status. */
  private bodyStep(st: DirectionState, h: HttpRequestHead | HttpResponseHead, value: HttpFields | number): StepResult {
    st.bodySize = 0;
    switch (h.bodyKind) {
      case BodyKind.LENGTH:
        st.bodySize = h.contentLength;
        return step(h.headLength, h.contentLength, true, true, value);
      case BodyKind.CHUNKED:
        st.chunked = 1;
        return step(h.headLength, 0, true, false, value);
      case BodyKind.UNTIL_CLOSE:
        return step(h.headLength, Infinity, true, true, value);
      default:
        return step(h.headLength, 0, true, true, value);
    }
  }

  decodePartial(dir: Dir, buf: Uint8Array, at: number, end: number): unknown {
    if (this.abandoned || this.state(dir).chunked) return undefined;
    if (dir === Dir.REQUEST) {
      const h = parsePartialHead(buf, at, end, true) as HttpRequestHead | undefined;
      if (!h) return undefined;
      this.methodsInFlight.push(h.method);
      return requestFields(h);
    }
    const h = parsePartialHead(buf, at, end, false, this.methodsInFlight.peek()) as HttpResponseHead | undefined;
    if (!h || isInterim(h.status)) return undefined;
    this.methodsInFlight.shift();
    return h.status;
  }

  canStart(dir: Dir, buf: Uint8Array, at: number, end: number): boolean {
    return dir === Dir.REQUEST ? looksLikeRequestLine(buf, at, end) : looksLikeStatusLine(buf, at, end);
  }

  reset(dir: Dir): void {
    this.state(dir).chunked = 0;
    if (dir !== Dir.RESPONSE) return;
    this.methodsInFlight.clear();
    // The responses of the requests still waiting may be among the bytes lost: none of them can be paired for sure.
    for (const r of this.queue.drain()) this.sink.emit(makeMessage('http', this.role, r.fields, r, 'no_response'));
  }

  complete(dir: Dir, value: unknown, start: NetworkRecord, startSeq: number, last: NetworkRecord, truncated: boolean): void {
    const st = this.state(dir);
    if (dir === Dir.REQUEST) {
      const fields = value as HttpFields;
      if (st.bodySize) fields.requestBodySize = st.bodySize;
      this.queue.add(fields, start, startSeq, last, truncated);
      if (truncated) this.sink.count('truncated');
      return;
    }
    const status = value as number;
    const req = this.queue.takeFor(start);
    if (!req) {
      this.sink.count('unmatched_response');
      return;
    }
    req.fields.status = status;
    if (st.bodySize) req.fields.responseBodySize = st.bodySize;
    if (truncated) this.sink.count('truncated');
    this.sink.emit(makeMessage('http', this.role, req.fields, req, isError(this.role, status) ? 'error' : 'ok', start, startSeq, last));
    if (status === 101 || (req.fields.method === 'CONNECT' && status < 300)) this.abandoned = true;
    this.queue.release(req);
  }

  close(_last: NetworkRecord | undefined): void {
    // a connection usually ends with nothing waiting: no iterator made over an empty queue (close runs once per connection)
    if (this.queue.size === 0) return;
    for (const r of this.queue.drain()) this.sink.emit(makeMessage('http', this.role, r.fields, r, 'no_response'));
  }
}

/**
 * A request's fields: one literal with every field of HttpFields, those the
 * response sets among them, so that every request's have one shape.
 */
function requestFields(h: HttpRequestHead): HttpFields {
  const t = h.target;
  const q = t.charCodeAt(0) === 47 ? t.indexOf('?') : -2; // origin-form: split here, without an object
  const split = q === -2 ? splitTarget(t) : undefined;
  return {
    method: h.method,
    target: t,
    path: split ? split.path : q < 0 ? t : t.slice(0, q),
    query: split ? split.query : q < 0 ? undefined : t.slice(q + 1),
    version: h.version,
    host: h.host,
    userAgent: h.userAgent,
    status: undefined,
    headers: h.headers,
    requestBodySize: undefined,
    responseBodySize: undefined,
    scheme: undefined,
    reset: undefined,
  };
}

/** 1xx but 101 Switching Protocols, which is final */
function isInterim(status: number): boolean {
  return status < 200 && status !== 101;
}

/** OTel HTTP conventions: 4xx is an error for the client that sent the request, not for the server that refused it. */
function isError(role: 'client' | 'server', status: number): boolean {
  return status >= 500 || (role === 'client' && status >= 400);
}
