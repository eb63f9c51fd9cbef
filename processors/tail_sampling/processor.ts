/**
 * `tail_sampling` as an RxJS operator over batches of traces: a timer on the
 * given scheduler (TestScheduler in tests) decides what has waited
 * `decision_wait`; completing the input decides everything left.
 */
import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { statefulOperator } from '../../core/stateful-operator';
import type { ComponentTelemetry } from '../../core/telemetry/metrics';
import type { Trace } from '../../core/signals';
import type { TailSamplingConfig } from './config';
import { TailSampler } from './sampler';

/** How often due traces are looked for: the Collector ticks every second. */
export function tickInterval(decisionWaitMs: number): number {
  return Math.max(1, Math.min(1000, decisionWaitMs));
}

export function tailSampling(
  config: TailSamplingConfig,
  telemetry: ComponentTelemetry,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<Trace[], Trace[]> {
  return statefulOperator(() => new TailSampler(config, { now: () => scheduler.now() }, telemetry), tickInterval(config.decision_wait), scheduler);
}
