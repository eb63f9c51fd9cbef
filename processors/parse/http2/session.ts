/**
 * HTTP/2 on one connection: frames in each direction, one HPACK dynamic table
 * per direction, and one message per stream, however streams interleave.
 *
 * Stream assembly pairs messages in order; HTTP/2 multiplexes, so this
 * session pairs by stream id itself and emits through the sink. It uses the
 * assembly's message bookkeeping only to learn where frames were: each frame
 * that opens or ends a stream's request or response, or resets it, is
 * returned as a unit that begins and ends at once, and complete() receives
 * its position (the first byte's record and TCP sequence number).
 */
import type { GrpcFields, HttpFields, NetworkRecord } from '../../../core/signals';
import { Dir, INVALID, NEED_MORE, step, type ProtocolSession, type StepResult } from '../decoder';
import { makeMessage, type SessionOptions, type SessionSink } from '../session-base';
import {
  CONTINUATION,
  DATA,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FRAME_HEADER_LENGTH,
  GOAWAY,
  HEADERS,
  PREFACE,
  PRIORITY,
  PUSH_PROMISE,
  PING,
  RST_STREAM,
  SETTINGS,
  SETTINGS_HEADER_TABLE_SIZE,
  WINDOW_UPDATE,
  FLAG_ACK,
  errorCodeName,
  fragmentOf,
  looksLikeFrames,
  prefaceAt,
  readFrameHeader,
  readUint31,
  readUint32,
  type FrameHeader,
} from './frames';
import { decodeHeaderBlock, DynamicTable, type FieldSink } from './hpack';

export interface Http2Options {
  /** HPACK bytes held per dynamic table, whatever size the peers agree on */
  maxHeaderTableSize: number;
}

interface H2Stream {
  id: number;
  fields: HttpFields;
  grpc: GrpcFields | undefined;
  /** the records that carried the first bytes of the request's and the final response's HEADERS, and those bytes' sequence numbers */
  reqStart: NetworkRecord | undefined;
  reqSeq: number;
  /** the records that carried the request's and the response's last bytes */
  reqLast: NetworkRecord | undefined;
  respStart: NetworkRecord | undefined;
  respSeq: number;
  respLast: NetworkRecord | undefined;
  requestEnded: boolean;
  /** the final (non-1xx) response headers were seen */
  responded: boolean;
  responseEnded: boolean;
  reset: boolean;
  truncated: boolean;
  done: boolean;
}

const MAX_USER_AGENT = 256;
const MAX_GRPC_MESSAGE = 256;

/** Request headers kept besides the pseudo-headers: the propagation headers and x-request-id, as for HTTP/1. */
const PROPAGATION = new Set(['traceparent', 'tracestate', 'b3', 'x-request-id']);
const WANTED = new Set([':method', ':path', ':scheme', ':authority', ':status', 'host', 'user-agent', 'content-type', 'grpc-status', 'grpc-message', ...PROPAGATION]);

/** gRPC status codes that make a server span an error (OTel gRPC conventions); a client span errs on any but OK. */
const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/** The wanted fields of one header block. */
class BlockFields implements FieldSink {
  method: string | undefined;
  path: string | undefined;
  scheme: string | undefined;
  authority: string | undefined;
  host: string | undefined;
  status: number | undefined;
  userAgent: string | undefined;
  contentType: string | undefined;
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
  headers: Record<string, string> | undefined;
  unknowns = 0;

  clear(): void {
    this.method = this.path = this.scheme = this.authority = this.host = undefined;
    this.status = this.grpcStatus = undefined;
    this.userAgent = this.contentType = this.grpcMessage = undefined;
    this.headers = undefined;
    this.unknowns = 0;
  }

  wants(name: string): boolean {
    return WANTED.has(name) || name.startsWith('x-datadog-') || name.startsWith('x-b3-');
  }

  field(name: string, value: string): void {
    switch (name) {
      case ':method': this.method = value; break;
      case ':path': this.path = value; break;
      case ':scheme': this.scheme = value; break;
      case ':authority': this.authority = value; break;
      case 'host': this.host = value; break;
      case ':status': this.status = /^\d{3}$/.test(value) ? Number(value) : undefined; break;
      case 'user-agent': this.userAgent = value.slice(0, MAX_USER_AGENT); break;
      case 'content-type': this.contentType = value.toLowerCase(); break;
      case 'grpc-status': this.grpcStatus = /^\d{1,2}$/.test(value) ? Number(value) : undefined; break;
      case 'grpc-message': this.grpcMessage = value; break;
      default: (this.headers ??= {})[name] = value;
    }
  }

  unknown(): void {
    this.unknowns++;
  }
}

export class Http2Session implements ProtocolSession {
  private readonly streams = new Map<number, H2Stream>();
  /** one dynamic table per direction: the request direction's is the client's encoder */
  private readonly tables: [DynamicTable, DynamicTable];
  private readonly frame: FrameHeader = { length: 0, type: 0, flags: 0, streamId: 0 };
  private readonly continuation: FrameHeader = { length: 0, type: 0, flags: 0, streamId: 0 };
  private readonly block = new BlockFields();
  /** the request direction's first bytes were decoded (the preface, when the connection's start was seen) */
  private requestStarted = false;
  /** the newest stream a request opened: a new request has a higher id */
  private newestStream = 0;
  /** upgraded from HTTP/1.1: the response direction starts with the 101 response */
  private awaiting101: boolean;
  abandoned = false;

  /**
   * @param upgraded the connection switched from HTTP/1.1 (`Upgrade: h2c`); the
   * first response-direction bytes are the 101 response that switched it.
   */
  constructor(
    private readonly role: 'client' | 'server',
    private readonly sink: SessionSink,
    private readonly opts: SessionOptions,
    h2: Http2Options,
    private readonly upgraded = false,
  ) {
    this.tables = [new DynamicTable(h2.maxHeaderTableSize, true), new DynamicTable(h2.maxHeaderTableSize, true)];
    this.awaiting101 = upgraded;
  }

  decode(dir: Dir, buf: Uint8Array, at: number, end: number): StepResult {
    if (this.abandoned) return step(end - at, 0, false, false);
    if (dir === Dir.REQUEST && !this.requestStarted) {
      const p = prefaceAt(buf, at, end);
      if (p === 0) return NEED_MORE;
      this.requestStarted = true;
      if (p === 1) return step(PREFACE.length, 0, false, false);
      this.startNotSeen();
    }
    if (dir === Dir.RESPONSE && this.awaiting101) return this.skip101(buf, at, end);
    if (end - at < FRAME_HEADER_LENGTH) return NEED_MORE;
    const h = readFrameHeader(buf, at, this.frame);
    const payload = at + FRAME_HEADER_LENGTH;
    switch (h.type) {
      case DATA:
        return this.data(dir, buf, at, end, h);
      case HEADERS:
      case PUSH_PROMISE:
        return this.headers(dir, buf, at, end, h);
      case RST_STREAM: {
        if (h.streamId === 0 || h.length !== 4) return INVALID;
        if (end - payload < 4) return NEED_MORE;
        const s = this.streams.get(h.streamId);
        if (!s) return step(FRAME_HEADER_LENGTH + 4, 0, false, false);
        s.reset = true;
        s.fields.reset = errorCodeName(readUint32(buf, payload));
        return step(FRAME_HEADER_LENGTH + 4, 0, true, true, s);
      }
      case SETTINGS: {
        if (h.streamId !== 0 || h.length % 6 !== 0) return INVALID;
        if (h.flags & FLAG_ACK) return step(FRAME_HEADER_LENGTH, h.length, false, false);
        if (end - payload < h.length) return NEED_MORE;
        for (let p = payload; p < payload + h.length; p += 6) {
          // a peer's limit on the table it decodes: the other direction's
          if (((buf[p] << 8) | buf[p + 1]) === SETTINGS_HEADER_TABLE_SIZE) this.tables[1 - dir].setSettingsLimit(readUint32(buf, p + 2));
        }
        return step(FRAME_HEADER_LENGTH + h.length, 0, false, false);
      }
      case GOAWAY: {
        if (h.streamId !== 0 || h.length < 8) return INVALID;
        if (end - payload < 8) return NEED_MORE;
        if (dir === Dir.RESPONSE) this.goAway(readUint31(buf, payload));
        return step(FRAME_HEADER_LENGTH + 8, h.length - 8, false, false);
      }
      case CONTINUATION:
        // continuations are taken with the HEADERS or PUSH_PROMISE they continue
        return INVALID;
      case PRIORITY:
      case PING:
      case WINDOW_UPDATE:
      default:
        // and frames of unknown types are ignored, as RFC 9113 asks
        return step(FRAME_HEADER_LENGTH, h.length, false, false);
    }
  }

  private data(dir: Dir, buf: Uint8Array, at: number, end: number, h: FrameHeader): StepResult {
    if (h.streamId === 0) return INVALID;
    let taken = FRAME_HEADER_LENGTH;
    let body = h.length;
    if (h.flags & FLAG_PADDED) {
      if (h.length < 1) return INVALID;
      if (end - at < FRAME_HEADER_LENGTH + 1) return NEED_MORE;
      const pad = buf[at + FRAME_HEADER_LENGTH];
      if (pad >= h.length) return INVALID;
      taken++;
      body = h.length - 1 - pad;
    }
    const rest = FRAME_HEADER_LENGTH + h.length - taken;
    const s = this.streams.get(h.streamId);
    if (!s) return step(taken, rest, false, false);
    const f = s.fields;
    if (dir === Dir.REQUEST) {
      if (body) f.requestBodySize = (f.requestBodySize ?? 0) + body;
    } else if (body) {
      f.responseBodySize = (f.responseBodySize ?? 0) + body;
    }
    if (!(h.flags & FLAG_END_STREAM)) return step(taken, rest, false, false);
    if (dir === Dir.REQUEST) s.requestEnded = true;
    else s.responseEnded = true;
    return step(taken, rest, true, true, s);
  }

  /** A HEADERS or PUSH_PROMISE frame and the CONTINUATION frames that end its header block, all present. */
  private headers(dir: Dir, buf: Uint8Array, at: number, end: number, h: FrameHeader): StepResult {
    if (h.streamId === 0) return INVALID;
    let next = at + FRAME_HEADER_LENGTH + h.length;
    if (next > end) return NEED_MORE;
    const first = fragmentOf(buf, at + FRAME_HEADER_LENGTH, h);
    if (!first) return INVALID;
    let block = buf;
    let [start, stop] = first;
    if (!(h.flags & FLAG_END_HEADERS)) {
      // the block goes on in CONTINUATION frames of the same stream, with no other frame between
      const parts: Uint8Array[] = [buf.subarray(start, stop)];
      for (;;) {
        if (end - next < FRAME_HEADER_LENGTH) return NEED_MORE;
        const c = readFrameHeader(buf, next, this.continuation);
        if (c.type !== CONTINUATION || c.streamId !== h.streamId) return INVALID;
        const payload = next + FRAME_HEADER_LENGTH;
        if (payload + c.length > end) return NEED_MORE;
        parts.push(buf.subarray(payload, payload + c.length));
        next = payload + c.length;
        if (c.flags & FLAG_END_HEADERS) break;
      }
      block = Buffer.concat(parts);
      start = 0;
      stop = block.length;
    }
    const taken = next - at;
    if (dir === Dir.RESPONSE && !this.requestStarted && !this.upgraded) {
      // a server answers only after the client's preface: this connection began before we looked
      this.startNotSeen();
    }
    const f = this.block;
    f.clear();
    if (!decodeHeaderBlock(block, start, stop, this.tables[dir], f)) {
      this.sink.count('hpack_invalid');
      return step(taken, 0, false, false);
    }
    for (let i = 0; i < f.unknowns; i++) this.sink.count('hpack_unknown');
    // a pushed stream's promised request is decoded only to keep the table in step; pushed responses belong to no stream we keep
    if (h.type === PUSH_PROMISE) return step(taken, 0, false, false);
    const endStream = (h.flags & FLAG_END_STREAM) !== 0;
    return dir === Dir.REQUEST ? this.requestHeaders(h.streamId, taken, endStream) : this.responseHeaders(h.streamId, taken, endStream);
  }

  private requestHeaders(id: number, taken: number, endStream: boolean): StepResult {
    const f = this.block;
    let s = this.streams.get(id);
    if (!s) {
      // trailers of a stream opened before we looked, or a block whose method is not known: no request to report
      if (f.method === undefined || id <= this.newestStream) return step(taken, 0, false, false);
      s = this.open(id);
    }
    if (endStream) s.requestEnded = true;
    return step(taken, 0, true, true, s);
  }

  private open(id: number): H2Stream {
    const f = this.block;
    const target = f.path ?? '';
    const q = target.indexOf('?');
    const fields: HttpFields = { method: f.method!, target, path: q < 0 ? target : target.slice(0, q), version: '2', headers: f.headers ?? {} };
    if (q >= 0) fields.query = target.slice(q + 1);
    const host = f.authority ?? f.host;
    if (host !== undefined) fields.host = host;
    if (f.userAgent !== undefined) fields.userAgent = f.userAgent;
    if (f.scheme !== undefined) fields.scheme = f.scheme;
    const grpc: GrpcFields | undefined =
      f.contentType?.startsWith('application/grpc') && f.path !== undefined ? { method: fields.path.replace(/^\//, '') } : undefined;
    const s: H2Stream = {
      id,
      fields,
      grpc,
      reqStart: undefined,
      reqSeq: 0,
      reqLast: undefined,
      respStart: undefined,
      respSeq: 0,
      respLast: undefined,
      requestEnded: false,
      responded: false,
      responseEnded: false,
      reset: false,
      truncated: false,
      done: false,
    };
    this.newestStream = id;
    if (this.streams.size >= this.opts.maxPendingRequests) {
      const oldest = this.streams.values().next().value!;
      this.sink.count('evicted_request');
      this.emit(oldest, 'no_response');
    }
    this.streams.set(id, s);
    return s;
  }

  private responseHeaders(id: number, taken: number, endStream: boolean): StepResult {
    const f = this.block;
    const s = this.streams.get(id);
    if (!s) return step(taken, 0, false, false);
    if (!s.responded) {
      // 1xx: interim, the final response follows
      if (f.status !== undefined && f.status < 200) return step(taken, 0, false, false);
      s.responded = true;
      if (f.status !== undefined) s.fields.status = f.status;
    }
    if (s.grpc && f.grpcStatus !== undefined) {
      s.grpc.statusCode = f.grpcStatus;
      if (f.grpcMessage) s.grpc.statusMessage = percentDecoded(f.grpcMessage).slice(0, MAX_GRPC_MESSAGE);
    }
    if (endStream) s.responseEnded = true;
    return step(taken, 0, true, true, s);
  }

  /** The server will not process streams above `last`: they end unanswered. */
  private goAway(last: number): void {
    for (const s of [...this.streams.values()]) if (s.id > last) this.emit(s, 'no_response');
  }

  /** Skips the HTTP/1.1 101 response of an h2c upgrade; a 101 to anything else gives up on the connection. */
  private skip101(buf: Uint8Array, at: number, end: number): StepResult {
    let headEnd = -1;
    for (let i = at; i + 3 < end; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
        headEnd = i + 4;
        break;
      }
    }
    if (headEnd < 0) return end - at > 4096 ? INVALID : NEED_MORE;
    const head = Buffer.from(buf.buffer, buf.byteOffset + at, headEnd - at).toString('latin1').toLowerCase();
    this.awaiting101 = false;
    if (!head.startsWith('http/1.1 101') || !/\r\nupgrade:[ \t]*h2c[ \t]*\r\n/.test(head)) this.abandoned = true;
    return step(headEnd - at, 0, false, false);
  }

  /** The connection began before capture: neither dynamic table is known. */
  private startNotSeen(): void {
    for (const t of this.tables) if (t.complete) t.forget();
  }

  canStart(dir: Dir, buf: Uint8Array, at: number, end: number): boolean {
    return looksLikeFrames(buf, at, end) || (dir === Dir.REQUEST && prefaceAt(buf, at, end) === 1);
  }

  /** Framing was lost in `dir`: header blocks may have gone by unseen, so its table is no longer known. */
  reset(dir: Dir): void {
    this.tables[dir].forget();
  }

  complete(dir: Dir, value: unknown, start: NetworkRecord, startSeq: number, last: NetworkRecord, truncated: boolean): void {
    const s = value as H2Stream;
    if (s.done) return;
    if (truncated) {
      s.truncated = true;
      this.sink.count('truncated');
    }
    if (s.reset) {
      this.emit(s, 'error');
      return;
    }
    if (dir === Dir.REQUEST) {
      if (!s.reqStart) {
        s.reqStart = start;
        s.reqSeq = startSeq;
      }
      if (s.requestEnded) s.reqLast ??= last;
      return;
    }
    if (!s.respStart) {
      s.respStart = start;
      s.respSeq = startSeq;
    }
    if (s.responseEnded) {
      s.respLast = last;
      this.emit(s, this.outcome(s));
    }
  }

  private outcome(s: H2Stream): 'ok' | 'error' {
    const code = s.grpc?.statusCode;
    if (code !== undefined) return code !== 0 && (this.role === 'client' || GRPC_SERVER_ERRORS.has(code)) ? 'error' : 'ok';
    const status = s.fields.status;
    return status !== undefined && (status >= 500 || (this.role === 'client' && status >= 400)) ? 'error' : 'ok';
  }

  private emit(s: H2Stream, outcome: 'ok' | 'error' | 'no_response'): void {
    s.done = true;
    this.streams.delete(s.id);
    if (!s.reqStart) return;
    const req = { start: s.reqStart, startSeq: s.reqSeq, last: s.reqLast ?? s.reqStart };
    const respLast = s.respStart ? (s.respLast ?? s.respStart) : undefined;
    // built as HTTP (the fields under `http`, where propagation and the debug exporter read them), then named for what it is
    const m = makeMessage('http', this.role, s.fields, req, outcome, s.respStart, s.respSeq, respLast);
    m.protocol = 'http2';
    if (s.grpc) m.grpc = s.grpc;
    this.sink.emit(m);
  }

  close(_last: NetworkRecord | undefined): void {
    for (const s of [...this.streams.values()]) this.emit(s, s.responded ? this.outcome(s) : 'no_response');
  }
}

function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
