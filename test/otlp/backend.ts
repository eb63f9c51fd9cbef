/**
 * A test OTLP backend: gRPC and HTTP servers that decode every request with
 * the official opentelemetry-proto schema (the vendored .proto files, loaded
 * here independently of espan's decoder), record what arrived, and misbehave
 * on demand (fault injection) so exporters can be tested against outages.
 */
import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as protobuf from 'protobufjs';

const ROOT_DIR = path.resolve(__dirname, '../../proto');

function loadProtos(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => path.join(ROOT_DIR, target);
  root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto']);
  root.resolveAll();
  return root;
}

const root = loadProtos();
const TYPES = {
  traces: {
    req: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    res: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    http: '/v1/traces',
  },
  metrics: {
    req: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
    res: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
    path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
    http: '/v1/metrics',
  },
} as const;

export type BackendSignal = keyof typeof TYPES;

/** What the backend does with one request. */
export type Fault =
  | { kind: 'unavailable' }
  /** answer only after delayMs (then accept) */
  | { kind: 'slow'; delayMs: number }
  /** a permanent error: gRPC INVALID_ARGUMENT / HTTP 400 */
  | { kind: 'reject' }
  /** RESOURCE_EXHAUSTED with RetryInfo / HTTP 429 with Retry-After */
  | { kind: 'throttle'; retryAfterMs: number }
  /** accept, reporting `rejected` items in partial_success */
  | { kind: 'partial'; rejected: number; message: string };

export interface ReceivedRequest {
  transport: 'grpc' | 'http';
  signal: BackendSignal;
  /** http: 'proto' or 'json'; grpc: 'proto' */
  encoding: 'proto' | 'json';
  gzip: boolean;
  /** lower-case header names (gRPC metadata for gRPC) */
  headers: Record<string, string>;
  /** the decoded request as protobufjs toObject gives it: 64-bit as strings, bytes as hex */
  body: any;
  /** items in the request */
  items: number;
  /** the fault applied, if any */
  fault?: Fault['kind'];
}

export interface BackendOptions {
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requireClientCert?: boolean };
  grpcPort?: number;
  httpPort?: number;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false, arrays: true };

function hexIds(o: any): any {
  // protobufjs renders bytes as base64; OTLP tests compare hex ids.
  if (Array.isArray(o)) return o.map(hexIds);
  if (o && typeof o === 'object') {
    const out: any = {};
    for (const [k, v] of Object.entries(o)) {
      out[k] = /^(traceId|spanId|parentSpanId)$/.test(k) && typeof v === 'string' ? Buffer.from(v, 'base64').toString('hex') : hexIds(v);
    }
    return out;
  }
  return o;
}

function countItems(signal: BackendSignal, body: any): number {
  let n = 0;
  if (signal === 'traces') {
    for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += (ss.spans ?? []).length;
  } else {
    for (const rm of body.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? []) n += (m.sum ?? m.gauge ?? m.histogram ?? m.exponentialHistogram ?? m.summary)?.dataPoints?.length ?? 0;
  }
  return n;
}

/** Decodes an OTLP/JSON body with protobufjs' fromObject, after turning OTLP's hex ids into bytes. */
function fromJson(signal: BackendSignal, text: string): protobuf.Message {
  const doc = JSON.parse(text, (k, v) => (/^(traceId|spanId|parentSpanId)$/.test(k) && typeof v === 'string' ? Buffer.from(v, 'hex').toString('base64') : v));
  return TYPES[signal].req.fromObject(doc);
}

export class TestBackend {
  readonly requests: ReceivedRequest[] = [];
  /** decides each request's fault; index counts requests of all kinds */
  fault: (index: number, signal: BackendSignal) => Fault | undefined = () => undefined;
  grpcPort = 0;
  httpPort = 0;
  /** bytes clients sent to the gRPC port (through a counting proxy: grpc-js hides grpc-encoding from handlers) */
  grpcBytesIn = 0;
  private grpcServer?: grpc.Server;
  private grpcProxy?: net.Server;
  private readonly proxySockets = new Set<net.Socket>();
  private httpServer?: http.Server;
  private seen = 0;

  constructor(private readonly opts: BackendOptions = {}) {}

  get grpcEndpoint(): string {
    return `localhost:${this.grpcPort}`;
  }

  get httpEndpoint(): string {
    return `${this.opts.tls ? 'https' : 'http'}://localhost:${this.httpPort}`;
  }

  /** Items accepted (not faulted, not rejected in partial success). */
  accepted(signal: BackendSignal = 'traces'): number {
    let n = 0;
    for (const r of this.requests) {
      if (r.signal !== signal) continue;
      if (!r.fault || r.fault === 'slow') n += r.items;
    }
    return n;
  }

  spans(): any[] {
    return this.requests.filter((r) => r.signal === 'traces' && (!r.fault || r.fault === 'slow')).flatMap((r) => r.body.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)));
  }

  async start(): Promise<this> {
    await Promise.all([this.startGrpc(), this.startHttp()]);
    return this;
  }

  /** Stops listening (a backend that is down); start() again brings it back on the same ports. */
  async stop(): Promise<void> {
    const g = this.grpcServer;
    const h = this.httpServer;
    this.grpcServer = undefined;
    this.httpServer = undefined;
    if (g) g.forceShutdown();
    const p = this.grpcProxy;
    this.grpcProxy = undefined;
    if (p) {
      for (const sock of this.proxySockets) sock.destroy();
      this.proxySockets.clear();
      await new Promise<void>((r) => p.close(() => r()));
    }
    if (h) {
      h.closeAllConnections();
      await new Promise<void>((r) => h.close(() => r()));
    }
  }

  private record(req: Omit<ReceivedRequest, 'fault'>): Fault | undefined {
    const fault = this.fault(this.seen++, req.signal);
    this.requests.push({ ...req, fault: fault?.kind });
    return fault;
  }

  private async startGrpc(): Promise<void> {
    const server = new grpc.Server();
    for (const signal of ['traces', 'metrics'] as const) {
      const t = TYPES[signal];
      const def: grpc.ServiceDefinition = {
        Export: {
          path: t.path,
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      };
      server.addService(def, {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = String(v);
          let body: any;
          try {
            body = hexIds(t.req.toObject(t.req.decode(call.request), TO_OBJECT));
          } catch (e) {
            cb({ code: grpc.status.INVALID_ARGUMENT, details: `undecodable: ${(e as Error).message}` });
            return;
          }
          const fault = this.record({ transport: 'grpc', signal, encoding: 'proto', gzip: headers['grpc-encoding'] === 'gzip', headers, body, items: countItems(signal, body) });
          this.answerGrpc(signal, fault, cb);
        },
      });
    }
    const creds = this.opts.tls
      ? grpc.ServerCredentials.createSsl(this.opts.tls.ca ?? null, [{ private_key: this.opts.tls.key, cert_chain: this.opts.tls.cert }], Boolean(this.opts.tls.requireClientCert))
      : grpc.ServerCredentials.createInsecure();
    const innerPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, port) => (err ? reject(err) : resolve(port))));
    this.grpcServer = server;
    const proxy = net.createServer((client) => {
      const upstream = net.connect(innerPort, '127.0.0.1');
      for (const sock of [client, upstream]) {
        this.proxySockets.add(sock);
        sock.on('close', () => this.proxySockets.delete(sock));
        sock.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (d) => (this.grpcBytesIn += d.length));
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(this.grpcPort || this.opts.grpcPort || 0, '127.0.0.1', () => resolve());
    });
    this.grpcPort = (proxy.address() as AddressInfo).port;
    this.grpcProxy = proxy;
  }

  private answerGrpc(signal: BackendSignal, fault: Fault | undefined, cb: grpc.sendUnaryData<Buffer>): void {
    const ok = (partial?: object) => cb(null, Buffer.from(TYPES[signal].res.encode(partial ? { partialSuccess: partial } : {}).finish()));
    switch (fault?.kind) {
      case undefined:
        return ok();
      case 'unavailable':
        return cb({ code: grpc.status.UNAVAILABLE, details: 'backend unavailable (injected)' });
      case 'reject':
        return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'rejected (injected)' });
      case 'slow':
        setTimeout(() => ok(), fault.delayMs);
        return;
      case 'throttle': {
        const md = new grpc.Metadata();
        md.set('grpc-status-details-bin', retryInfoStatus(fault.retryAfterMs));
        return cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'throttled (injected)', metadata: md });
      }
      case 'partial':
        return ok(signal === 'traces' ? { rejectedSpans: fault.rejected, errorMessage: fault.message } : { rejectedDataPoints: fault.rejected, errorMessage: fault.message });
    }
  }

  private async startHttp(): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const signal = (Object.keys(TYPES) as BackendSignal[]).find((s) => TYPES[s].http === req.url);
        if (!signal || req.method !== 'POST') {
          res.writeHead(404).end();
          return;
        }
        const gz = req.headers['content-encoding'] === 'gzip';
        const json = /json/.test(String(req.headers['content-type']));
        let body: any;
        try {
          const raw = gz ? zlib.gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks);
          const msg = json ? fromJson(signal, raw.toString('utf8')) : TYPES[signal].req.decode(raw);
          body = hexIds(TYPES[signal].req.toObject(msg, TO_OBJECT));
        } catch (e) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(`undecodable: ${(e as Error).message}`);
          return;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v);
        const fault = this.record({ transport: 'http', signal, encoding: json ? 'json' : 'proto', gzip: gz, headers, body, items: countItems(signal, body) });
        this.answerHttp(signal, json, fault, res);
      });
    };
    const server = this.opts.tls
      ? https.createServer({ cert: this.opts.tls.cert, key: this.opts.tls.key, ca: this.opts.tls.ca, requestCert: Boolean(this.opts.tls.requireClientCert), rejectUnauthorized: Boolean(this.opts.tls.requireClientCert) }, handler)
      : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.httpPort || this.opts.httpPort || 0, '127.0.0.1', () => resolve());
    });
    this.httpPort = (server.address() as AddressInfo).port;
    this.httpServer = server;
  }

  private answerHttp(signal: BackendSignal, json: boolean, fault: Fault | undefined, res: http.ServerResponse): void {
    const ok = (partial?: any) => {
      const ps = partial ? { partialSuccess: partial } : {};
      const body = json ? Buffer.from(JSON.stringify(ps)) : Buffer.from(TYPES[signal].res.encode(ps).finish());
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(body);
    };
    switch (fault?.kind) {
      case undefined:
        return ok();
      case 'unavailable':
        res.writeHead(503, { 'content-type': 'text/plain' }).end('backend unavailable (injected)');
        return;
      case 'reject':
        res.writeHead(400, { 'content-type': 'text/plain' }).end('rejected (injected)');
        return;
      case 'slow':
        setTimeout(() => ok(), fault.delayMs);
        return;
      case 'throttle':
        res.writeHead(429, { 'retry-after': String(Math.ceil(fault.retryAfterMs / 1000)), 'content-type': 'text/plain' }).end('throttled (injected)');
        return;
      case 'partial':
        return ok(signal === 'traces' ? { rejectedSpans: String(fault.rejected), errorMessage: fault.message } : { rejectedDataPoints: String(fault.rejected), errorMessage: fault.message });
    }
  }
}

/** google.rpc.Status carrying a RetryInfo, as a throttling server sends it in grpc-status-details-bin. */
function retryInfoStatus(ms: number): Buffer {
  const r = new protobuf.Root();
  const Duration = new protobuf.Type('Duration').add(new protobuf.Field('seconds', 1, 'int64')).add(new protobuf.Field('nanos', 2, 'int32'));
  const RetryInfo = new protobuf.Type('RetryInfo').add(new protobuf.Field('retryDelay', 1, 'Duration'));
  const Any = new protobuf.Type('Any').add(new protobuf.Field('typeUrl', 1, 'string')).add(new protobuf.Field('value', 2, 'bytes'));
  const Status = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string')).add(new protobuf.Field('details', 3, 'Any', 'repeated'));
  r.define('google.rpc').add(Duration).add(RetryInfo).add(Any).add(Status);
  r.resolveAll();
  const ri = RetryInfo.encode({ retryDelay: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 } }).finish();
  return Buffer.from(Status.encode({ code: 8, message: 'throttled', details: [{ typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: ri }] }).finish());
}

export function readFile(p: string): Buffer {
  return fs.readFileSync(p);
}
