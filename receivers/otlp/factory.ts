/**
 * `otlp` receiver: OTLP/gRPC and OTLP/HTTP (protobuf and JSON, gzip) trace
 * intake, configured as the Collector's `protocols.grpc` / `protocols.http`.
 * Agents send eSpans to a linker through it; SDK-instrumented applications
 * send their own spans to be joined.
 */
import type { ReceiverFactory } from '../../core/component';
import { OtlpReceiver } from './receiver';

export interface ServerTlsSettings {
  cert_file: string;
  key_file: string;
  /** set: clients must present a certificate signed by this CA */
  client_ca_file: string;
}

export interface ServerAuthSettings {
  bearer_token: string;
}

export interface OtlpReceiverConfig {
  protocols: {
    grpc: { endpoint: string; max_recv_msg_size_mib: number; tls: ServerTlsSettings; auth: ServerAuthSettings };
    http: { endpoint: string; max_request_body_size: number; traces_url_path: string; tls: ServerTlsSettings; auth: ServerAuthSettings };
  };
  /** ms a request may wait for room downstream before the client is told to retry */
  backpressure_timeout: number;
}

const tlsSchema = () => ({
  cert_file: { doc: 'PEM server certificate; set with key_file to serve TLS', format: String, default: '' },
  key_file: { doc: 'PEM key of cert_file', format: String, default: '' },
  client_ca_file: { doc: 'PEM CA: when set, clients must present a certificate it signed (mutual TLS)', format: String, default: '' },
});

const authSchema = () => ({
  bearer_token: {
    doc: 'when set, requests must carry "Authorization: Bearer <token>" (espan setting; the Collector uses a bearertokenauth extension). Use ${env:VAR} to keep it out of the file',
    format: String,
    default: '',
  },
});

export const schema = {
  protocols: {
    grpc: {
      endpoint: { doc: 'host:port to serve OTLP/gRPC on; "" turns gRPC off', format: String, default: 'localhost:4317' },
      max_recv_msg_size_mib: { doc: 'largest request accepted, MiB', format: 'nat', default: 4 },
      tls: tlsSchema(),
      auth: authSchema(),
    },
    http: {
      endpoint: { doc: 'host:port to serve OTLP/HTTP on; "" turns HTTP off', format: String, default: 'localhost:4318' },
      max_request_body_size: { doc: 'largest request body accepted (after decompression), bytes', format: 'nat', default: 20 * 1024 * 1024 },
      traces_url_path: { doc: 'URL path of trace export requests', format: String, default: '/v1/traces' },
      tls: tlsSchema(),
      auth: authSchema(),
    },
  },
  backpressure_timeout: { doc: 'how long a request may wait for room downstream before the client is told to retry (UNAVAILABLE / 503)', format: 'duration', default: '5s' },
};

export const otlpReceiverFactory: ReceiverFactory<OtlpReceiverConfig> = {
  kind: 'receiver',
  type: 'otlp',
  schema,
  validate(c) {
    const out: Array<{ path: string; message: string }> = [];
    for (const p of ['grpc', 'http'] as const) {
      const s = c.protocols[p];
      if (Boolean(s.tls.cert_file) !== Boolean(s.tls.key_file)) out.push({ path: `protocols.${p}.tls`, message: 'cert_file and key_file go together' });
      if (s.tls.client_ca_file && !s.tls.cert_file) out.push({ path: `protocols.${p}.tls.client_ca_file`, message: 'needs cert_file and key_file (mutual TLS is TLS first)' });
      if (s.endpoint && !/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d+$/.test(s.endpoint)) out.push({ path: `protocols.${p}.endpoint`, message: 'expected host:port, e.g. localhost:4317 or 0.0.0.0:4317' });
    }
    if (!c.protocols.grpc.endpoint && !c.protocols.http.endpoint) out.push({ path: 'protocols', message: 'at least one of grpc and http must have an endpoint' });
    if (!c.protocols.http.traces_url_path.startsWith('/')) out.push({ path: 'protocols.http.traces_url_path', message: 'must start with /' });
    return out;
  },
  produces: () => 'spans',
  create: (config, ctx) => new OtlpReceiver(config, ctx),
};
