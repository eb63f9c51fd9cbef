/**
 * OTLP/gRPC sending on node:http2: unary Export calls on the Collector's
 * service paths carrying bytes the exporter serialised, so the same bytes are
 * retried without re-encoding. A unary gRPC call is one HTTP/2 POST whose
 * body is the message behind a 5-byte prefix (compressed flag, length) and
 * whose trailers (or headers, when it failed at once) carry the status.
 * Written here, the prefix goes out as its own small write: grpc-js copied
 * every request into a new buffer to put it in front, and its call machinery
 * cost as much again (1.3 MB requests: ~3.5 → ~2.6 ms of CPU each).
 * One HTTP/2 session per signal, with that signal's endpoint, TLS, headers
 * and compression; a session that failed or that the server closed is
 * opened again by the next attempt (retry_on_failure paces them).
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as protobuf from 'protobufjs';
import { grpcCodeName, GrpcCode, MESSAGE_PREFIX_BYTES, messagePrefix, percentDecoded } from '../../core/grpc';
import { decodeExportResponse } from '../../core/otlp/decode';
import { METRICS_EXPORT_PATH, TRACE_EXPORT_PATH } from '../../core/otlp/proto';
import type { SignalSettings } from '../exporterhelper/otlp-exporter';
import { grpcRetryable } from '../exporterhelper/retryable';
import { acceptedOutcome, USER_AGENT, type OtlpSignal, type PerSignal, type SendOutcome, type Transport } from '../exporterhelper/transport';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

export interface GrpcTarget {
  /** host:port (or a unix: socket path, dns: name) as gRPC targets are written */
  address: string;
  /** plaintext: tls.insecure, or an http:// endpoint */
  plaintext: boolean;
}

/** `host:port`, `http://host:port` or `https://host:port` as the Collector's configgrpc reads them. */
export function parseGrpcEndpoint(endpoint: string, insecure: boolean): GrpcTarget {
  const m = /^(https?):\/\/([^/]+)\/?$/i.exec(endpoint.trim());
  if (m) return { address: m[2], plaintext: m[1].toLowerCase() === 'http' || insecure };
  return { address: endpoint.trim().replace(/\/+$/, ''), plaintext: insecure };
}

// google.rpc.Status details → RetryInfo.retry_delay, for RESOURCE_EXHAUSTED throttling.
const Duration = new protobuf.Type('Duration').add(new protobuf.Field('seconds', 1, 'int64')).add(new protobuf.Field('nanos', 2, 'int32'));
const RetryInfo = new protobuf.Type('RetryInfo').add(new protobuf.Field('retryDelay', 1, 'Duration'));
const AnyMsg = new protobuf.Type('Any').add(new protobuf.Field('typeUrl', 1, 'string')).add(new protobuf.Field('value', 2, 'bytes'));
const RpcStatus = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'))
  .add(new protobuf.Field('details', 3, 'Any', 'repeated'));
new protobuf.Root().define('google.rpc').add(Duration).add(RetryInfo).add(AnyMsg).add(RpcStatus).root.resolveAll();

/** The server's RetryInfo delay in ms, from a `grpc-status-details-bin` trailer (base64 google.rpc.Status), when it sent one. */
export function retryDelayMs(detailsBin: string | undefined): number | undefined {
  if (!detailsBin) return undefined;
  try {
    const status = RpcStatus.decode(Buffer.from(detailsBin, 'base64')) as any;
    for (const d of status.details ?? []) {
      if (!String(d.typeUrl).endsWith('google.rpc.RetryInfo')) continue;
      const ri = RetryInfo.decode(d.value) as any;
      const s = Number(ri.retryDelay?.seconds ?? 0);
      const n = Number(ri.retryDelay?.nanos ?? 0);
      return s * 1000 + n / 1e6;
    }
  } catch {
    // unreadable details: treat as absent
  }
  return undefined;
}

/** The gRPC status of an HTTP answer that carries none, as the gRPC spec maps them. */
function statusOfHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcCode.INTERNAL;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 403:
      return GrpcCode.PERMISSION_DENIED;
    case 404:
      return GrpcCode.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcCode.UNAVAILABLE;
    default:
      return GrpcCode.UNKNOWN;
  }
}

/** What http2.connect needs for a target: the authority URL, and a socket of its own for unix: targets. */
function connectionOf(target: GrpcTarget): { url: string; socketPath?: string } {
  const a = target.address;
  if (a.startsWith('unix:')) return { url: 'http://localhost', socketPath: a.replace(/^unix:(\/\/)?/, '') };
  const hostPort = a.replace(/^dns:(\/\/[^/]*\/)?/, '');
  return { url: `${target.plaintext ? 'http' : 'https'}://${hostPort}` };
}

/** One signal's HTTP/2 session to its endpoint, opened on first use and again after it closed. */
class Channel {
  private session: http2.ClientHttp2Session | undefined;
  /** calls in flight: the session keeps the process alive only while there are some */
  private calls = 0;

  constructor(private readonly s: SignalSettings<GrpcTarget>) {}

  /** A session to send on (opened if there is none usable), referenced until `done`. */
  open(): http2.ClientHttp2Session {
    let session = this.session;
    if (session === undefined || session.closed || session.destroyed) {
      const { url, socketPath } = connectionOf(this.s.endpoint);
      const tls = this.s.tls;
      session = http2.connect(url, {
        ca: this.s.ca,
        cert: this.s.cert,
        key: this.s.key,
        servername: tls.server_name_override || undefined,
        rejectUnauthorized: !tls.insecure_skip_verify,
        ...(tls.insecure_skip_verify ? { checkServerIdentity: () => undefined } : {}),
        ...(socketPath ? { createConnection: () => net.connect(socketPath) } : {}),
      });
      const opened = session;
      // a failed or closed session is dropped: its calls fail (retryably), the next one connects again
      const drop = () => {
        if (this.session === opened) this.session = undefined;
      };
      opened.on('error', drop);
      opened.on('goaway', drop);
      opened.on('close', drop);
      this.session = opened;
    }
    if (this.calls++ === 0) session.ref();
    return session;
  }

  done(): void {
    if (--this.calls === 0) this.session?.unref();
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}

export class GrpcTransport implements Transport {
  private readonly channels = new Map<OtlpSignal, Channel>();

  constructor(private readonly signals: PerSignal<SignalSettings<GrpcTarget>>) {}

  private channel(signal: OtlpSignal): Channel {
    let c = this.channels.get(signal);
    if (!c) this.channels.set(signal, (c = new Channel(this.signals[signal])));
    return c;
  }

  async send(signal: OtlpSignal, body: Uint8Array, timeoutMs: number): Promise<SendOutcome> {
    const s = this.signals[signal];
    // Compressed per attempt rather than cached: the queue keeps only one copy of each batch.
    const message = s.gzip ? await gzip(body) : body;
    const prefix = messagePrefix(message.byteLength, s.gzip);
    const headers: http2.OutgoingHttpHeaders = {
      ...s.headers,
      ':method': 'POST',
      ':path': signal === 'traces' ? TRACE_EXPORT_PATH : METRICS_EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': USER_AGENT,
      'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
      'grpc-accept-encoding': 'identity,gzip',
    };
    if (s.gzip) headers['grpc-encoding'] = 'gzip';
    const call = await unaryCall(this.channel(signal), headers, prefix, message, timeoutMs, s.endpoint.address);
    if (call.code !== GrpcCode.OK) {
      const throttleMs = retryDelayMs(call.detailsBin);
      const why = `gRPC ${grpcCodeName(call.code)}: ${call.details}`;
      return grpcRetryable(call.code, throttleMs !== undefined) ? { kind: 'retryable', message: why, throttleMs } : { kind: 'permanent', message: why };
    }
    try {
      const response = await responseMessage(call.body!, call.compressed!);
      return acceptedOutcome(response ? decodeExportResponse(response, signal) : undefined);
    } catch {
      return { kind: 'success' }; // an unreadable success response still means the data was accepted
    }
  }

  async close(): Promise<void> {
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }
}

/** What one call came to: its gRPC status, and on OK the framed response. */
interface Answer {
  code: number;
  details: string;
  detailsBin?: string;
  compressed?: boolean;
  body?: Buffer;
}

/** One unary call: the request's headers, then the prefix and the message as two writes (no copy to join them). */
function unaryCall(channel: Channel, headers: http2.OutgoingHttpHeaders, prefix: Buffer, message: Uint8Array, timeoutMs: number, address: string): Promise<Answer> {
  return new Promise<Answer>((resolve) => {
    let req: http2.ClientHttp2Stream;
    try {
      req = channel.open().request(headers);
    } catch (e) {
      channel.done();
      resolve({ code: GrpcCode.UNAVAILABLE, details: `${address}: ${(e as Error).message}` });
      return;
    }
    let answer: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (a: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      channel.done();
      resolve(a);
    };
    const timer = setTimeout(() => {
      settle({ code: GrpcCode.DEADLINE_EXCEEDED, details: `no answer within ${timeoutMs} ms` });
      req.close(http2.constants.NGHTTP2_CANCEL);
    }, timeoutMs);
    req.on('response', (h) => (answer = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('trailers', (t) => (trailers = t));
    req.on('error', (e) => settle({ code: GrpcCode.UNAVAILABLE, details: `${address}: ${e.message}` }));
    req.on('close', () => {
      // a trailers-only answer (most servers' errors) has its status in the headers
      const meta = trailers?.['grpc-status'] !== undefined ? trailers : answer;
      const st = meta?.['grpc-status'];
      if (st === undefined) {
        const httpStatus = Number(answer?.[':status'] ?? 0);
        if (answer === undefined) settle({ code: GrpcCode.UNAVAILABLE, details: `${address}: stream closed before an answer (code ${req.rstCode})` });
        else settle({ code: httpStatus === 200 ? GrpcCode.INTERNAL : statusOfHttp(httpStatus), details: `HTTP ${httpStatus} without a gRPC status` });
        return;
      }
      settle({
        code: Number(st),
        details: percentDecoded(String(meta?.['grpc-message'] ?? '')),
        detailsBin: meta?.['grpc-status-details-bin'] as string | undefined,
        compressed: answer?.['grpc-encoding'] === 'gzip',
        body: Buffer.concat(chunks),
      });
    });
    req.write(prefix);
    req.end(message);
  });
}

/** The message of a framed unary response (5-byte prefix: compressed flag, length), or undefined for none. */
async function responseMessage(framed: Buffer, gzipped: boolean): Promise<Buffer | undefined> {
  if (framed.length < MESSAGE_PREFIX_BYTES) return undefined;
  const message = framed.subarray(MESSAGE_PREFIX_BYTES, MESSAGE_PREFIX_BYTES + framed.readUInt32BE(1));
  return framed[0] === 1 && gzipped ? gunzip(message) : message;
}
