/** Builds OTLP exporters from Collector-style config blocks for tests, with their telemetry readable. */
import type { ComponentContext, Exporter } from '../../core/component';
import { resolveConfig } from '../../core/config/schema';
import { memoryLogger } from '../../core/telemetry/logger';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import type { Env } from '../../exporters/exporterhelper/client';
import { createOtlpGrpcExporter, otlpGrpcExporterFactory } from '../../exporters/otlp_grpc/factory';
import { createOtlpHttpExporter, otlpHttpExporterFactory } from '../../exporters/otlp_http/factory';
import { testContext } from '../helpers/context';

export type Kind = 'grpc' | 'http';

export interface Built {
  exporter: Exporter;
  ctx: ComponentContext & { logger: ReturnType<typeof memoryLogger> };
  metrics: ServiceMetrics;
  sent(): Promise<number>;
  failed(reason?: string): Promise<number>;
}

export function buildExporter(kind: Kind, block: Record<string, unknown>, env: Env = {}): Built {
  const factory = kind === 'grpc' ? otlpGrpcExporterFactory : otlpHttpExporterFactory;
  const { config, problems } = resolveConfig<any>(factory.schema, block);
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  const v = factory.validate?.(config) ?? [];
  if (v.length) throw new Error(`bad test config: ${JSON.stringify(v)}`);
  const metrics = new ServiceMetrics();
  const ctx = testContext('exporter', kind, metrics);
  const exporter = kind === 'grpc' ? createOtlpGrpcExporter(config, ctx, env) : createOtlpHttpExporter(config, ctx, env);
  return {
    exporter,
    ctx,
    metrics,
    sent: () => metrics.total('espan_exporter_sent_items_total'),
    failed: (reason?: string) => metrics.total('espan_exporter_send_failed_items_total', reason ? { reason } : {}),
  };
}

/** Retries fast enough for tests. */
export const FAST_RETRY = { initial_interval: '20ms', max_interval: '100ms', randomization_factor: 0, multiplier: 2, max_elapsed_time: '5s' };

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
