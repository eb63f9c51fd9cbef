/**
 * `otlp` receiver: OTLP/gRPC and OTLP/HTTP (protobuf and JSON, gzip) trace
 * intake, configured as the Collector's `protocols.grpc` / `protocols.http`.
 * Agents send eSpans to a linker through it; SDK-instrumented applications
 * send their own spans to be joined.
 */
import type { ReceiverFactory } from '../../core/component';
import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';
import type * as ReceiverModule from './receiver';

const tls = {
  cert_file: setting.string('', 'PEM server certificate; set with key_file to serve TLS'),
  key_file: setting.string('', 'PEM key of cert_file'),
  client_ca_file: setting.string('', 'PEM CA: when set, clients must present a certificate it signed (mutual TLS)'),
};

const auth = {
  bearer_token: setting.string(
    '',
    'when set, requests must carry "Authorization: Bearer <token>" (espan setting; the Collector uses a bearertokenauth extension). Use ${env:VAR} to keep it out of the file',
  ),
};

export const schema = {
  protocols: {
    grpc: {
      endpoint: setting.string('localhost:4317', 'host:port to serve OTLP/gRPC on; "" turns gRPC off'),
      max_recv_msg_size_mib: setting.nat(4, 'largest request accepted, MiB'),
      tls,
      auth,
    },
    http: {
      endpoint: setting.string('localhost:4318', 'host:port to serve OTLP/HTTP on; "" turns HTTP off'),
      max_request_body_size: setting.nat(20 * 1024 * 1024, 'largest request body accepted (after decompression), bytes'),
      traces_url_path: setting.string('/v1/traces', 'URL path of trace export requests'),
      tls,
      auth,
    },
  },
  backpressure_timeout: setting.duration('5s', 'how long a request may wait for room downstream before the client is told to retry (UNAVAILABLE / 503)'),
};

export type OtlpReceiverConfig = ConfigOf<typeof schema>;
export type ServerTlsSettings = ConfigOf<typeof tls>;
export type ServerAuthSettings = ConfigOf<typeof auth>;

export const otlpReceiverFactory: ReceiverFactory<OtlpReceiverConfig, 'spans'> = {
  kind: 'receiver',
  type: 'otlp',
  schema,
  validate(c) {
    const out: ConfigProblem[] = [];
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
  // loaded when configured: the receiver brings the protobuf schemas that a pipeline without it never uses
  create: (config, ctx) => new (require('./receiver') as typeof ReceiverModule).OtlpReceiver(config, ctx),
};
