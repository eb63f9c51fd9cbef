/** What the service hands a component, for tests and benchmarks that create one directly. */
import type { ComponentContext, ComponentKind } from '../../core/component';
import { resolveConfig, type ConfigSchema } from '../../core/config/schema';
import { memoryLogger } from '../../core/telemetry/logger';
import { componentTelemetry, ServiceMetrics } from '../../core/telemetry/metrics';

/** Its logger keeps lines in memory (`ctx.logger.lines`). */
export function testContext(kind: ComponentKind, id: string, metrics = new ServiceMetrics()): ComponentContext & { logger: ReturnType<typeof memoryLogger> } {
  return { id, kind, logger: memoryLogger(), telemetry: componentTelemetry(metrics, kind, id), configDir: process.cwd() };
}

/** A component's config from a YAML-like block, defaults filled; throws on any problem. */
export function configFrom<C>(factory: { schema: ConfigSchema; validate?(c: C): Array<{ path: string; message: string }> }, raw: unknown): C {
  const { config, problems } = resolveConfig<C>(factory.schema, raw);
  const all = config ? [...problems, ...(factory.validate?.(config) ?? [])] : problems;
  if (!config || all.length) throw new Error(`bad test config: ${JSON.stringify(all)}`);
  return config;
}
