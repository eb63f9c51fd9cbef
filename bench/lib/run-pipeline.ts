/** An in-process espan whose receivers end on their own (replay), run to its end. */
import { parseConfig } from '../../core/config/load';
import { Service } from '../../core/service';
import { memoryLogger } from '../../core/telemetry/logger';
import type { ServiceMetrics } from '../../core/telemetry/metrics';
import type { Registry } from '../../core/component';
import { defaultRegistry } from '../../registry';

export interface PipelineRun {
  /** from start until every receiver finished */
  receiversSeconds: number;
  /** from start until shutdown returned: the spans that processors held are flushed by then */
  totalSeconds: number;
  /** CPU of this process (all its threads) over the same span, from parsing the config on */
  cpuSeconds: number;
  metrics: ServiceMetrics;
}

/** Starts the pipeline of `yaml`, waits for its receivers to finish and shuts it down. */
export async function runPipeline(yaml: string, name: string, registry: Registry = defaultRegistry()): Promise<PipelineRun> {
  const cpu0 = process.cpuUsage();
  const svc = new Service(parseConfig(yaml, name, registry, {}), { logger: memoryLogger() });
  const t0 = performance.now();
  await svc.start();
  await svc.receiversFinished();
  const receiversSeconds = (performance.now() - t0) / 1000;
  await svc.shutdown();
  const cpu = process.cpuUsage(cpu0);
  return { receiversSeconds, totalSeconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, metrics: svc.metrics };
}
