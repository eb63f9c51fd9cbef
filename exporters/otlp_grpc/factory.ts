/**
 * `otlp_grpc` exporter (alias `otlp`, as the Collector names it): spans, traces
 * and RED metrics to an OTLP/gRPC endpoint, with the Collector's queue, retry,
 * TLS, headers and compression settings.
 */
import type { ComponentContext, Exporter, ExporterFactory } from '../../core/component';
import { setting, type ConfigOf } from '../../core/config/schema';
import type { SignalType } from '../../core/signals';
import { otlpEnv, type Env } from '../exporterhelper/client';
import { otlpClientSchema, validateOtlpClient } from '../exporterhelper/config';
import { newOtlpExporter, type OtlpWire } from '../exporterhelper/otlp-exporter';
import type { SenderClock } from '../exporterhelper/sender';
import type * as TransportModule from './transport';
import type { GrpcTarget } from './transport';

export const DEFAULT_GRPC_ENDPOINT = 'localhost:4317';

export const schema = {
  endpoint: setting.string('', 'host:port (or http:// / https:// URL) of the OTLP/gRPC server; unset: OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4317'),
  ...otlpClientSchema,
};

export type OtlpGrpcConfig = ConfigOf<typeof schema>;

function grpcWire(config: OtlpGrpcConfig, env: Env): OtlpWire<GrpcTarget> {
  // loaded when configured: the transport brings node:http2 and the protobuf schemas, which a pipeline without it never uses
  const { GrpcTransport, parseGrpcEndpoint } = require('./transport') as typeof TransportModule;
  return {
    endpoint: (signal, client) => parseGrpcEndpoint(config.endpoint || otlpEnv(env, signal, 'ENDPOINT') || DEFAULT_GRPC_ENDPOINT, client.tls.insecure),
    encoding: () => 'proto',
    transport: (signals) => new GrpcTransport(signals),
    show: (target) => `${target.address}${target.plaintext ? ' (plaintext)' : ''}`,
  };
}

/** Builds the exporter; `env` and the sender's clock are injectable for tests. */
export function createOtlpGrpcExporter(config: OtlpGrpcConfig, ctx: ComponentContext, env: Env = process.env, clock: SenderClock = {}): Exporter {
  return newOtlpExporter(config, ctx, env, grpcWire(config, env), clock);
}

export const otlpGrpcExporterFactory: ExporterFactory<OtlpGrpcConfig> = {
  kind: 'exporter',
  type: 'otlp_grpc',
  aliases: ['otlp'],
  schema,
  validate: validateOtlpClient,
  accepts: (): SignalType[] => ['spans', 'traces', 'metrics'],
  create: (config, ctx) => createOtlpGrpcExporter(config, ctx),
};
