/**
 * OTLP/gRPC sending with @grpc/grpc-js: unary Export calls on the Collector's
 * service paths carrying bytes the exporter serialised, so the same bytes are
 * retried without re-encoding and the channel does not re-serialise. One
 * channel per signal, with that signal's endpoint, TLS, headers and compression.
 */
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { METRICS_EXPORT_PATH, TRACE_EXPORT_PATH } from '../../core/otlp/proto';
import { decodeExportResponse } from '../../core/otlp/decode';
import type { SignalSettings } from '../exporterhelper/otlp-exporter';
import { grpcRetryable } from '../exporterhelper/retryable';
import { acceptedOutcome, USER_AGENT, type OtlpSignal, type PerSignal, type SendOutcome, type Transport } from '../exporterhelper/transport';


export interface GrpcTarget {
  /** host:port as grpc-js takes it */
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

/** The server's RetryInfo delay in ms, when it sent one. */
export function retryDelayMs(metadata: grpc.Metadata | undefined): number | undefined {
  const raw = metadata?.get('grpc-status-details-bin')?.[0];
  if (!raw || typeof raw === 'string') return undefined;
  try {
    const status = RpcStatus.decode(raw) as any;
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

const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export class GrpcTransport implements Transport {
  private readonly clients = new Map<OtlpSignal, grpc.Client>();

  constructor(private readonly signals: PerSignal<SignalSettings<GrpcTarget>>) {}

  private client(signal: OtlpSignal): grpc.Client {
    let c = this.clients.get(signal);
    if (c) return c;
    const s = this.signals[signal];
    const options: grpc.ChannelOptions = {
      'grpc.primary_user_agent': USER_AGENT,
      // grpc-js backs reconnects off up to 120 s on its own; the exporter's retry_on_failure paces
      // attempts, so the channel must be ready to reconnect soon after a backend comes back.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5000,
    };
    if (s.gzip) options['grpc.default_compression_algorithm'] = 2; // gzip
    if (s.tls.server_name_override) options['grpc.ssl_target_name_override'] = s.tls.server_name_override;
    const creds = s.endpoint.plaintext
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(s.ca ?? null, s.key ?? null, s.cert ?? null, s.tls.insecure_skip_verify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {});
    c = new grpc.Client(s.endpoint.address, creds, options);
    this.clients.set(signal, c);
    return c;
  }

  send(signal: OtlpSignal, body: Uint8Array, timeoutMs: number): Promise<SendOutcome> {
    const client = this.client(signal);
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.signals[signal].headers)) metadata.set(k, v);
    return new Promise((resolve) => {
      client.makeUnaryRequest<Uint8Array, Buffer>(
        signal === 'traces' ? TRACE_EXPORT_PATH : METRICS_EXPORT_PATH,
        toBuffer,
        (b) => b,
        body,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (err, response) => {
          if (err) {
            const throttleMs = retryDelayMs(err.metadata);
            const message = `gRPC ${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`;
            resolve(grpcRetryable(err.code, throttleMs !== undefined) ? { kind: 'retryable', message, throttleMs } : { kind: 'permanent', message });
            return;
          }
          try {
            resolve(acceptedOutcome(response ? decodeExportResponse(response, signal) : undefined));
          } catch {
            resolve({ kind: 'success' }); // an unreadable success response still means the data was accepted
          }
        },
      );
    });
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
