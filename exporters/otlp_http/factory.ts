/**
 * `otlp_http` exporter (alias `otlphttp`, as the Collector names it): spans,
 * traces and RED metrics to OTLP/HTTP endpoints as protobuf or JSON, with the
 * Collector's queue, retry, TLS, headers and compression settings.
 */
import type { ComponentContext, Exporter, ExporterFactory } from '../../core/component';
import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';
import type { SignalType } from '../../core/signals';
import { otlpEnv, type Env } from '../exporterhelper/client';
import { otlpClientSchema, validateOtlpClient } from '../exporterhelper/config';
import { newOtlpExporter, type OtlpWire } from '../exporterhelper/otlp-exporter';
import type { SenderClock } from '../exporterhelper/sender';
import type { OtlpSignal } from '../exporterhelper/transport';
import type * as TransportModule from './transport';

export const DEFAULT_HTTP_ENDPOINT = 'http://localhost:4318';

export const schema = {
  endpoint: setting.string('', 'base URL; /v1/traces and /v1/metrics are appended. Unset: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318'),
  traces_endpoint: setting.string('', 'full URL for spans, used as is; unset: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else endpoint + /v1/traces'),
  metrics_endpoint: setting.string('', 'full URL for metrics, used as is; unset: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else endpoint + /v1/metrics'),
  encoding: setting.oneOf(['proto', 'json', ''], '', 'proto or json; unset: json when OTEL_EXPORTER_OTLP_PROTOCOL (or its per-signal variable) is http/json, else proto'),
  ...otlpClientSchema,
};

export type OtlpHttpConfig = ConfigOf<typeof schema>;

const PATHS: Record<OtlpSignal, string> = { traces: 'v1/traces', metrics: 'v1/metrics' };

/** The URL for one signal, by the OTel specification's precedence. */
export function signalUrl(config: OtlpHttpConfig, signal: OtlpSignal, env: Env): URL {
  const explicit = signal === 'traces' ? config.traces_endpoint : config.metrics_endpoint;
  if (explicit) return new URL(explicit);
  const join = (base: string) => new URL(`${base.endsWith('/') ? base : base + '/'}${PATHS[signal]}`);
  if (config.endpoint) return join(config.endpoint);
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`];
  if (specific) return new URL(specific);
  return join(env.OTEL_EXPORTER_OTLP_ENDPOINT || DEFAULT_HTTP_ENDPOINT);
}

function httpWire(config: OtlpHttpConfig, env: Env): OtlpWire<URL> {
  // loaded when configured: the transport brings the protobuf schemas, which a pipeline without it never uses
  const { HttpTransport } = require('./transport') as typeof TransportModule;
  return {
    endpoint: (signal) => signalUrl(config, signal, env),
    encoding: (signal) => config.encoding || (otlpEnv(env, signal, 'PROTOCOL') === 'http/json' ? 'json' : 'proto'),
    transport: (signals) => new HttpTransport(signals, config.sending_queue.num_consumers),
    show: (url) => url.href,
  };
}

/** Builds the exporter; `env` and the sender's clock are injectable for tests. */
export function createOtlpHttpExporter(config: OtlpHttpConfig, ctx: ComponentContext, env: Env = process.env, clock: SenderClock = {}): Exporter {
  return newOtlpExporter(config, ctx, env, httpWire(config, env), clock);
}

function validate(c: OtlpHttpConfig): ConfigProblem[] {
  const out = validateOtlpClient(c);
  for (const key of ['endpoint', 'traces_endpoint', 'metrics_endpoint'] as const) {
    if (!c[key]) continue;
    try {
      const u = new URL(c[key]);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') out.push({ path: key, message: 'must be an http:// or https:// URL' });
    } catch {
      out.push({ path: key, message: `not a URL: ${JSON.stringify(c[key])}` });
    }
  }
  return out;
}

export const otlpHttpExporterFactory: ExporterFactory<OtlpHttpConfig> = {
  kind: 'exporter',
  type: 'otlp_http',
  aliases: ['otlphttp'],
  schema,
  validate,
  accepts: (): SignalType[] => ['spans', 'traces', 'metrics'],
  create: (config, ctx) => createOtlpHttpExporter(config, ctx),
};
