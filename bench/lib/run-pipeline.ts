/** An in-process espan whose receivers end on their own (replay), run to its end. */
import { parseConfig } from '../../core/config/load';
import { Service } from '../../core/service';
import { memoryLogger } from '../../core/telemetry/logger';
import type { ServiceMetrics } from '../../core/telemetry/metrics';
import { defaultRegistry } from '../../registry';

export interface PipelineRun {
  /** from start until every receiver finished */
  receiversSeconds: number;
  /** from start until shutdown returned: the spans that processors held are flushed by then */
  totalSeconds: number;
  metrics: ServiceMetrics;
}

/** Starts the pipeline of `yaml`, waits for its receivers to finish and shuts it down. */
export async function runPipeline(yaml: string, name: string): Promise<PipelineRun> {
  const svc = new Service(parseConfig(yaml, name, defaultRegistry(), {}), { logger: memoryLogger() });
  const t0 = performance.now();
  await svc.start();
  await svc.receiversFinished();
  const receiversSeconds = (performance.now() - t0) / 1000;
  await svc.shutdown();
  return { receiversSeconds, totalSeconds: (performance.now() - t0) / 1000, metrics: svc.metrics };
}
