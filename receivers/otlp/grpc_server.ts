/**
 * Unary gRPC methods served on node:http2. A unary call is one HTTP/2 POST
 * whose body is the message behind a 5-byte prefix (compressed flag, length)
 * and whose answer is headers, the response message behind its prefix, and
 * trailers carrying grpc-status (or, for an error, headers alone carrying it:
 * "trailers-only"). Served here rather than by grpc-js because grpc-js's server
 * keeps HTTP/2's 64 KiB flow-control windows, so a sender of a 1.3 MB request
 * stops for a window update some twenty times (~3.3 vs ~1.7 ms of espan's
 * exporter's CPU per such request); here the windows are FLOW_WINDOW.
 */
import * as dns from 'node:dns/promises';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { GrpcCode, MESSAGE_PREFIX_BYTES, messagePrefix, percentEncoded } from '../../core/grpc';

/** Thrown by a method to answer with that status. */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Takes a request message (decompressed) and its headers, returns the response message. */
export type UnaryMethod = (request: Buffer, headers: http2.IncomingHttpHeaders) => Promise<Buffer>;

export interface UnaryGrpcServerOptions {
  /** path → method, e.g. "/opentelemetry.proto.collector.trace.v1.TraceService/Export" */
  methods: ReadonlyMap<string, UnaryMethod>;
  /** largest request message accepted, bytes, compressed or not (RESOURCE_EXHAUSTED above) */
  maxMessageBytes: number;
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  /** told of each request refused as too large before it reached its method */
  onTooLarge?: (message: string) => void;
}

/**
 * Receive windows, per stream and per session. 16 MiB lets a sender write a
 * request of the default 4 MiB limit (and several at once) without waiting for
 * window updates; data is read as it arrives, so it does not sit in HTTP/2.
 */
export const FLOW_WINDOW = 16 * 1024 * 1024;

/** An empty message behind its prefix. */
const EMPTY_MESSAGE = messagePrefix(0, false);
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const MAX_TIMER_MS = 2 ** 31 - 1;

export class UnaryGrpcServer {
  /** one per address listened on */
  private readonly servers: Array<http2.Http2Server | http2.Http2SecureServer> = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(private readonly options: UnaryGrpcServerOptions) {}

  /**
   * Listens on every address `host` resolves to, all on one port (the first's
   * when `port` is 0), as grpc-js did: "localhost" is often both ::1 and
   * 127.0.0.1. Fails only when no address could be listened on. Returns the port.
   */
  async listen(host: string, port: number): Promise<number> {
    let firstError: Error | undefined;
    for (const { address } of await dns.lookup(host, { all: true })) {
      const server = this.newServer();
      try {
        port = await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, address, () => {
            server.off('error', reject);
            resolve((server.address() as AddressInfo).port);
          });
        });
        this.servers.push(server);
      } catch (e) {
        firstError ??= e as Error;
      }
    }
    if (this.servers.length === 0) throw firstError ?? new Error(`${host} resolves to no address`);
    return port;
  }

  /** Stops listening; sessions finish the calls under way (GOAWAY), then close. */
  async close(): Promise<void> {
    const closed = this.servers.map((server) => new Promise<void>((r) => server.close(() => r())));
    for (const s of this.sessions) s.close();
    await Promise.all(closed);
  }

  private newServer(): http2.Http2Server | http2.Http2SecureServer {
    const settings: http2.Settings = { initialWindowSize: FLOW_WINDOW };
    const tls = this.options.tls;
    const server = tls
      ? http2.createSecureServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: Boolean(tls.ca), rejectUnauthorized: Boolean(tls.ca), settings })
      : http2.createServer({ settings });
    server.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', () => {}); // a peer's broken connection ends its session; nothing to report
      // initialWindowSize sets the streams' windows; the session's own starts at 64 KiB whatever the settings say
      session.setLocalWindowSize(FLOW_WINDOW);
    });
    server.on('stream', (stream, headers) => this.serve(stream, headers));
    return server;
  }

  private serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => {}); // a call the client reset; its answer goes nowhere
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const path = String(headers[':path']);
    const method = this.options.methods.get(path);
    if (!method) return this.fail(stream, GrpcCode.UNIMPLEMENTED, `The server does not implement the method ${path}`);
    const encoding = String(headers['grpc-encoding'] ?? 'identity');
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
      return this.fail(stream, GrpcCode.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`);
    }
    const timeout = /^(\d{1,8})([HMSmun])$/.exec(String(headers['grpc-timeout'] ?? ''));
    const timeoutMs = timeout ? Number(timeout[1]) * TIMEOUT_UNIT_MS[timeout[2]] : Infinity;
    // beyond setTimeout's range (~24.8 days) a deadline is as good as none
    if (timeoutMs <= MAX_TIMER_MS) {
      const timer = setTimeout(() => this.fail(stream, GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded'), timeoutMs);
      stream.once('close', () => clearTimeout(timer));
    }
    const max = this.options.maxMessageBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    /** the prefix and message, once the prefix gave the length */
    let expected = -1;
    // what the client sends after an answer is dropped; nothing is buffered past one message of at most `max`
    const refuse = (answer: () => void) => {
      stream.off('data', onData);
      chunks.length = 0;
      stream.resume();
      answer();
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (expected < 0 && size >= MESSAGE_PREFIX_BYTES) {
        const length = (chunks.length === 1 ? c : Buffer.concat(chunks)).readUInt32BE(1);
        // refused from the prefix, before the message is read
        if (length > max) return refuse(() => this.tooLarge(stream, `Received message larger than max (${length} vs ${max})`));
        expected = MESSAGE_PREFIX_BYTES + length;
      }
      if (expected >= 0 && size > expected) refuse(() => this.fail(stream, GrpcCode.UNIMPLEMENTED, `Received a second request message for method ${path}`));
    };
    stream.on('data', onData);
    stream.once('end', () => {
      if (stream.headersSent) return;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      this.call(stream, method, body, encoding, headers);
    });
  }

  private call(stream: http2.ServerHttp2Stream, method: UnaryMethod, body: Buffer, encoding: string, headers: http2.IncomingHttpHeaders): void {
    if (body.length < MESSAGE_PREFIX_BYTES) return this.fail(stream, GrpcCode.UNIMPLEMENTED, `Received no request message for method ${headers[':path']}`);
    if (body.length < MESSAGE_PREFIX_BYTES + body.readUInt32BE(1)) return this.fail(stream, GrpcCode.INTERNAL, 'Request message cut short');
    let message = body.subarray(MESSAGE_PREFIX_BYTES);
    if (body[0] === 1) {
      if (encoding === 'identity') return this.fail(stream, GrpcCode.INTERNAL, 'Compressed message without grpc-encoding');
      try {
        // the limit holds after decompression too: a small gzip bomb must not take the memory
        const limit = { maxOutputLength: this.options.maxMessageBytes };
        message = encoding === 'gzip' ? zlib.gunzipSync(message, limit) : zlib.inflateSync(message, limit);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return this.tooLarge(stream, `Received message that decompresses to a size larger than ${this.options.maxMessageBytes}`);
        return this.fail(stream, GrpcCode.INTERNAL, `Received message that could not be decompressed: ${(e as Error).message}`);
      }
    }
    method(message, headers).then(
      (response) => this.reply(stream, response),
      (e: unknown) => this.fail(stream, e instanceof GrpcError ? e.code : GrpcCode.INTERNAL, (e as Error)?.message ?? String(e)),
    );
  }

  private reply(stream: http2.ServerHttp2Stream, response: Buffer): void {
    if (stream.headersSent || stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': 'identity,deflate,gzip' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(GrpcCode.OK), 'grpc-message': 'OK' }));
    if (response.length === 0) {
      stream.end(EMPTY_MESSAGE);
      return;
    }
    stream.write(messagePrefix(response.length, false));
    stream.end(response);
  }

  private tooLarge(stream: http2.ServerHttp2Stream, message: string): void {
    this.options.onTooLarge?.(message);
    this.fail(stream, GrpcCode.RESOURCE_EXHAUSTED, message);
  }

  /** A trailers-only answer: the status in the response headers, no body. */
  private fail(stream: http2.ServerHttp2Stream, code: number, message: string): void {
    if (stream.headersSent || stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': percentEncoded(message) }, { endStream: true });
  }
}
