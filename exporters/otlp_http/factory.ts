/**
 * `otlp_http` exporter (alias `otlphttp`, as the Collector names it): spans,
 * traces and RED metrics to OTLP/HTTP endpoints as protobuf or JSON, with the
 * Collector's queue, retry, TLS, headers and compression settings.
 */
import type { ComponentContext, Exporter, ExporterFactory } from '../../core/component';
import type { SignalType } from '../../core/signals';
import { clientTlsSchema, compressionSchema, headersSchema, otlpEnv, resolveClient, timeoutSchema, validateClientTls, type ClientTlsSettings, type Env } from '../exporterhelper/client';
import { retryOnFailureSchema, sendingQueueSchema, validateHelper, type QueueSettings, type RetrySettings } from '../exporterhelper/config';
import { QueuedSender, type OtlpSignal } from '../exporterhelper/sender';
import { HttpTransport, type Encoding } from './transport';

export interface OtlpHttpConfig {
  endpoint: string;
  traces_endpoint: string;
  metrics_endpoint: string;
  encoding: Encoding | '';
  tls: ClientTlsSettings;
  headers: Record<string, string>;
  compression: '' | 'gzip' | 'none';
  timeout: number | null;
  sending_queue: QueueSettings;
  retry_on_failure: RetrySettings;
}

export const DEFAULT_HTTP_ENDPOINT = 'http://localhost:4318';

export const schema = {
  endpoint: {
    doc: 'base URL; /v1/traces and /v1/metrics are appended. Unset: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318',
    format: String,
    default: '',
  },
  traces_endpoint: { doc: 'full URL for spans, used as is; unset: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else endpoint + /v1/traces', format: String, default: '' },
  metrics_endpoint: { doc: 'full URL for metrics, used as is; unset: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else endpoint + /v1/metrics', format: String, default: '' },
  encoding: { doc: 'proto or json; unset: json when OTEL_EXPORTER_OTLP_PROTOCOL=http/json, else proto', format: ['proto', 'json', ''], default: '' },
  tls: clientTlsSchema,
  headers: headersSchema,
  compression: compressionSchema,
  timeout: timeoutSchema,
  sending_queue: sendingQueueSchema,
  retry_on_failure: retryOnFailureSchema,
};

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

export function createOtlpHttpExporter(config: OtlpHttpConfig, ctx: ComponentContext, env: Env = process.env, extra: Partial<ConstructorParameters<typeof QueuedSender>[0]> = {}): Exporter {
  const settings = { traces: resolveClient(config, 'traces', env, ctx.configDir), metrics: resolveClient(config, 'metrics', env, ctx.configDir) };
  const urls = { traces: signalUrl(config, 'traces', env), metrics: signalUrl(config, 'metrics', env) };
  const encoding: Encoding = config.encoding || (otlpEnv(env, 'traces', 'PROTOCOL') === 'http/json' ? 'json' : 'proto');
  const sender = new QueuedSender({
    queue: config.sending_queue,
    retry: config.retry_on_failure,
    timeoutMs: settings.traces.timeoutMs,
    transport: new HttpTransport(urls, settings, encoding, config.sending_queue.num_consumers),
    ctx,
    ...extra,
  });
  ctx.logger.debug('otlp_http exporter configured', { traces_endpoint: urls.traces.href, encoding, gzip: settings.traces.gzip });
  return {
    consume: (batch, signal) => sender.consume(batch, signal),
    ready: () => sender.ready(),
    shutdown: (deadlineMs) => sender.shutdown(deadlineMs),
  };
}

export const otlpHttpExporterFactory: ExporterFactory<OtlpHttpConfig> = {
  kind: 'exporter',
  type: 'otlp_http',
  aliases: ['otlphttp'],
  schema,
  validate(c) {
    const out = [...validateHelper(c), ...validateClientTls(c.tls)];
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
  },
  accepts: (): SignalType[] => ['spans', 'traces', 'metrics'],
  create: (config, ctx) => createOtlpHttpExporter(config, ctx),
};
