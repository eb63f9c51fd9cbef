/**
 * The OTLP servers. Each request is decoded whole (protobuf with the official
 * message types, or OTLP/JSON) into one batch of spans; a request that cannot
 * be decoded is answered with a client error and counted, never thrown into
 * the pipeline. Requests wait for room downstream (bounded by
 * backpressure_timeout) so a slow exporter slows senders instead of growing memory.
 */
import { timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Subject, type Observable } from 'rxjs';
import type { ComponentContext, Receiver, ReceiverRuntime } from '../../core/component';
import { decodeTraceRequest, fromOtlpJson, OtlpDecodeError } from '../../core/otlp/decode';
import { otlpProto, TRACE_EXPORT_PATH } from '../../core/otlp/proto';
import { GrpcCode } from '../../core/grpc';
import type { Span } from '../../core/signals';
import type { OtlpReceiverConfig, ServerAuthSettings, ServerTlsSettings } from './factory';
import { GrpcError, UnaryGrpcServer } from './grpc_server';

class Refused extends Error {
  constructor(
    message: string,
    readonly reason: 'decode' | 'auth' | 'too_large' | 'media_type' | 'backpressure',
  ) {
    super(message);
  }
}

const HTTP_STATUS: Record<Refused['reason'], number> = { decode: 400, auth: 401, too_large: 413, media_type: 415, backpressure: 503 };
const GRPC_STATUS: Record<Refused['reason'], number> = {
  decode: GrpcCode.INVALID_ARGUMENT,
  auth: GrpcCode.UNAUTHENTICATED,
  too_large: GrpcCode.RESOURCE_EXHAUSTED,
  media_type: GrpcCode.INVALID_ARGUMENT,
  backpressure: GrpcCode.UNAVAILABLE,
};

/** "localhost:4317", ":4317", "[::1]:4317" → host and port. */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  let host = endpoint.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host || '0.0.0.0', port: Number(endpoint.slice(i + 1)) };
}

function bearerCheck(auth: ServerAuthSettings): (header: string | undefined) => boolean {
  if (!auth.bearer_token) return () => true;
  const want = Buffer.from(`Bearer ${auth.bearer_token}`);
  return (header) => {
    if (!header) return false;
    const got = Buffer.from(header);
    return got.length === want.length && timingSafeEqual(got, want);
  };
}

export class OtlpReceiver implements Receiver<'spans'> {
  private readonly subject = new Subject<Span[]>();
  readonly output: Observable<Span[]> = this.subject.asObservable();
  private runtime?: ReceiverRuntime;
  private grpcServer?: UnaryGrpcServer;
  private httpServer?: http.Server;
  private readonly refusedRequests: (n: number, labels?: Record<string, string>) => void;
  private stopped = false;
  /** bound ports, once started (useful with port 0) */
  grpcPort = 0;
  httpPort = 0;

  constructor(
    private readonly config: OtlpReceiverConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.refusedRequests = ctx.telemetry.counter('espan_otlp_receiver_refused_requests_total', 'OTLP requests refused, by protocol and reason.', ['protocol', 'reason']);
  }

  async start(runtime: ReceiverRuntime): Promise<void> {
    this.runtime = runtime;
    try {
      if (this.config.protocols.grpc.endpoint) await this.startGrpc();
      if (this.config.protocols.http.endpoint) await this.startHttp();
    } catch (e) {
      await this.closeServers();
      throw e;
    }
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.closeServers();
    this.subject.complete();
  }

  private async closeServers(): Promise<void> {
    const g = this.grpcServer;
    const h = this.httpServer;
    this.grpcServer = undefined;
    this.httpServer = undefined;
    if (g) await g.close();
    if (h) {
      h.closeIdleConnections();
      await new Promise<void>((r) => h.close(() => r()));
    }
  }

  private readPem(file: string, key: string): Buffer {
    const p = path.resolve(this.ctx.configDir, file);
    try {
      return fs.readFileSync(p);
    } catch (e) {
      throw new Error(`cannot read ${key} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  private tlsMaterial(tls: ServerTlsSettings, where: string): { cert: Buffer; key: Buffer; ca?: Buffer } | undefined {
    if (!tls.cert_file) return undefined;
    return {
      cert: this.readPem(tls.cert_file, `${where}.tls.cert_file`),
      key: this.readPem(tls.key_file, `${where}.tls.key_file`),
      ca: tls.client_ca_file ? this.readPem(tls.client_ca_file, `${where}.tls.client_ca_file`) : undefined,
    };
  }

  /** Hands a decoded batch on once downstream has room; refuses with back-pressure after the timeout. */
  private async deliver(spans: Span[]): Promise<void> {
    if (this.stopped) throw new Refused('receiver is shutting down', 'backpressure');
    if (spans.length === 0) return;
    const wait = this.runtime?.waitForCapacity();
    if (wait) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.config.backpressure_timeout)));
      const late = await Promise.race([wait.then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) throw new Refused('pipeline is full; retry later', 'backpressure');
    }
    this.subject.next(spans);
  }

  private refuse(protocol: string, e: Refused): void {
    this.refusedRequests(1, { protocol, reason: e.reason });
    if (e.reason !== 'backpressure') this.ctx.logger.debug('refused OTLP request', { protocol, reason: e.reason, error: e.message });
  }

  private async startGrpc(): Promise<void> {
    const s = this.config.protocols.grpc;
    const authorised = bearerCheck(s.auth);
    const okResponse = Buffer.alloc(0); // an empty ExportTraceServiceResponse: full success
    const exportTraces = async (request: Buffer, headers: { authorization?: string }): Promise<Buffer> => {
      try {
        if (!authorised(headers.authorization)) throw new Refused('missing or wrong bearer token', 'auth');
        let spans: Span[];
        try {
          spans = decodeTraceRequest(request);
        } catch (e) {
          throw new Refused((e as Error).message, 'decode');
        }
        await this.deliver(spans);
        return okResponse;
      } catch (e) {
        const r = e instanceof Refused ? e : new Refused((e as Error)?.message ?? String(e), 'decode');
        this.refuse('grpc', r);
        throw new GrpcError(GRPC_STATUS[r.reason], r.message);
      }
    };
    const server = new UnaryGrpcServer({
      methods: new Map([[TRACE_EXPORT_PATH, exportTraces]]),
      maxMessageBytes: s.max_recv_msg_size_mib * 1024 * 1024,
      tls: this.tlsMaterial(s.tls, 'protocols.grpc'),
      onTooLarge: (message) => this.refuse('grpc', new Refused(message, 'too_large')),
    });
    const { host, port } = splitEndpoint(s.endpoint);
    try {
      this.grpcPort = await server.listen(host, port);
    } catch (e) {
      throw new Error(`otlp receiver cannot listen on ${s.endpoint} (gRPC): ${(e as Error).message}`);
    }
    this.grpcServer = server;
    this.ctx.logger.info('OTLP/gRPC receiver listening', { endpoint: `${host}:${this.grpcPort}`, tls: Boolean(s.tls.cert_file) });
  }

  private async startHttp(): Promise<void> {
    const s = this.config.protocols.http;
    const authorised = bearerCheck(s.auth);
    const P = otlpProto();
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const json = contentType === 'application/json';
      const reply = (status: number, message?: string) => {
        if (status === 200) {
          const body = json ? Buffer.from('{}') : Buffer.from(P.TraceResponse.encode({}).finish());
          res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(body);
          return;
        }
        const st = { code: status === 401 ? 16 : status === 503 ? 14 : 3, message: message ?? '' };
        const headers: Record<string, string> = { 'content-type': json ? 'application/json' : 'application/x-protobuf' };
        if (status === 401) headers['www-authenticate'] = 'Bearer';
        if (status === 503) headers['retry-after'] = '1';
        res.writeHead(status, headers).end(json ? JSON.stringify(st) : Buffer.from(P.Status.encode(st).finish()));
      };
      if (req.url?.split('?')[0] !== s.traces_url_path) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`this receiver takes traces at POST ${s.traces_url_path}\n`);
        req.resume();
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST only\n');
        req.resume();
        return;
      }
      const fail = (e: Refused) => {
        this.refuse('http', e);
        reply(HTTP_STATUS[e.reason], e.message);
      };
      if (!authorised(req.headers.authorization)) {
        req.resume();
        return fail(new Refused('missing or wrong bearer token', 'auth'));
      }
      if (contentType !== 'application/json' && contentType !== 'application/x-protobuf') {
        req.resume();
        return fail(new Refused(`unsupported content-type ${JSON.stringify(contentType)}; use application/x-protobuf or application/json`, 'media_type'));
      }
      const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > s.max_request_body_size) {
          tooLarge = true;
          return;
        }
        if (!tooLarge) chunks.push(c);
      });
      req.on('error', () => res.destroy());
      req.on('end', () => {
        if (tooLarge) return fail(new Refused(`body larger than ${s.max_request_body_size} bytes`, 'too_large'));
        let body = Buffer.concat(chunks);
        try {
          // Decompressed size is capped too: a small gzip bomb must not take the memory.
          if (encoding === 'gzip') body = zlib.gunzipSync(body, { maxOutputLength: s.max_request_body_size });
          else if (encoding === 'deflate') body = zlib.inflateSync(body, { maxOutputLength: s.max_request_body_size });
          else if (encoding && encoding !== 'identity') return fail(new Refused(`unsupported content-encoding ${encoding}`, 'media_type'));
        } catch (e) {
          const big = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
          return fail(new Refused(big ? `body larger than ${s.max_request_body_size} bytes once decompressed` : `bad ${encoding} body: ${(e as Error).message}`, big ? 'too_large' : 'decode'));
        }
        let spans: Span[];
        try {
          spans = json ? fromOtlpJson(body) : decodeTraceRequest(body);
        } catch (e) {
          return fail(new Refused(e instanceof OtlpDecodeError ? e.message : String(e), 'decode'));
        }
        this.deliver(spans).then(
          () => reply(200),
          (e: unknown) => fail(e instanceof Refused ? e : new Refused(String(e), 'decode')),
        );
      });
    };
    const tls = this.tlsMaterial(s.tls, 'protocols.http');
    const server = tls ? https.createServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: Boolean(tls.ca), rejectUnauthorized: Boolean(tls.ca) }, handler) : http.createServer(handler);
    server.keepAliveTimeout = 30_000;
    const { host, port } = splitEndpoint(s.endpoint);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`otlp receiver cannot listen on ${s.endpoint} (HTTP): ${e.message}`)));
      server.listen(port, host, () => resolve());
    });
    this.httpPort = (server.address() as AddressInfo).port;
    this.httpServer = server;
    this.ctx.logger.info('OTLP/HTTP receiver listening', { endpoint: `${host}:${this.httpPort}${s.traces_url_path}`, tls: Boolean(tls) });
  }
}
