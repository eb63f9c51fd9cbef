/**
 * `otlp_grpc` exporter (alias `otlp`, as the Collector names it): spans, traces
 * and RED metrics to an OTLP/gRPC endpoint, with the Collector's queue, retry,
 * TLS, headers and compression settings.
 */
import type { ComponentContext, Exporter, ExporterFactory } from '../../core/component';
import type { SignalType } from '../../core/signals';
import { clientTlsSchema, compressionSchema, headersSchema, otlpEnv, resolveClient, timeoutSchema, validateClientTls, type ClientTlsSettings, type Env } from '../exporterhelper/client';
import { retryOnFailureSchema, sendingQueueSchema, validateHelper, type QueueSettings, type RetrySettings } from '../exporterhelper/config';
import { QueuedSender, type OtlpSignal } from '../exporterhelper/sender';
import { GrpcTransport, parseGrpcEndpoint, type GrpcTarget } from './transport';

export interface OtlpGrpcConfig {
  endpoint: string;
  tls: ClientTlsSettings;
  headers: Record<string, string>;
  compression: '' | 'gzip' | 'none';
  timeout: number | null;
  sending_queue: QueueSettings;
  retry_on_failure: RetrySettings;
}

export const DEFAULT_GRPC_ENDPOINT = 'localhost:4317';

export const schema = {
  endpoint: {
    doc: 'host:port (or http:// / https:// URL) of the OTLP/gRPC server; unset: OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4317',
    format: String,
    default: '',
  },
  tls: clientTlsSchema,
  headers: headersSchema,
  compression: compressionSchema,
  timeout: timeoutSchema,
  sending_queue: sendingQueueSchema,
  retry_on_failure: retryOnFailureSchema,
};

export function grpcTarget(config: OtlpGrpcConfig, signal: OtlpSignal, env: Env): GrpcTarget {
  const insecureEnv = otlpEnv(env, signal, 'INSECURE');
  const insecure = config.tls.insecure || (insecureEnv !== undefined && /^(true|1)$/i.test(insecureEnv));
  const endpoint = config.endpoint || otlpEnv(env, signal, 'ENDPOINT') || DEFAULT_GRPC_ENDPOINT;
  return parseGrpcEndpoint(endpoint, insecure);
}

/** Builds the exporter; `env` and sender options are injectable for tests. */
export function createOtlpGrpcExporter(config: OtlpGrpcConfig, ctx: ComponentContext, env: Env = process.env, extra: Partial<ConstructorParameters<typeof QueuedSender>[0]> = {}): Exporter {
  const settings = { traces: resolveClient(config, 'traces', env, ctx.configDir), metrics: resolveClient(config, 'metrics', env, ctx.configDir) };
  const targets = { traces: grpcTarget(config, 'traces', env), metrics: grpcTarget(config, 'metrics', env) };
  const sender = new QueuedSender({
    queue: config.sending_queue,
    retry: config.retry_on_failure,
    timeoutMs: settings.traces.timeoutMs,
    transport: new GrpcTransport(targets, settings),
    ctx,
    ...extra,
  });
  ctx.logger.debug('otlp_grpc exporter configured', { endpoint: targets.traces.address, plaintext: targets.traces.plaintext, gzip: settings.traces.gzip });
  return {
    consume: (batch, signal) => sender.consume(batch, signal),
    ready: () => sender.ready(),
    shutdown: (deadlineMs) => sender.shutdown(deadlineMs),
  };
}

export const otlpGrpcExporterFactory: ExporterFactory<OtlpGrpcConfig> = {
  kind: 'exporter',
  type: 'otlp_grpc',
  aliases: ['otlp'],
  schema,
  validate: (c) => [...validateHelper(c), ...validateClientTls(c.tls)],
  accepts: (): SignalType[] => ['spans', 'traces', 'metrics'],
  create: (config, ctx) => createOtlpGrpcExporter(config, ctx),
};
