/**
 * `tail_sampling` as an RxJS operator over batches of traces: a timer on the
 * given scheduler (TestScheduler in tests) decides what has waited
 * `decision_wait`; completing the input decides everything left.
 */
import { asyncScheduler, interval, Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
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
  return (source) =>
    new Observable<Trace[]>((subscriber) => {
      const sampler = new TailSampler(config, { now: () => scheduler.now() }, telemetry);
      const emit = (traces: Trace[]): void => {
        if (traces.length) subscriber.next(traces);
      };
      const ticks = interval(tickInterval(config.decision_wait), scheduler).subscribe(() => emit(sampler.tick()));
      const input = source.subscribe({
        next: (batch) => {
          const released = sampler.add(batch);
          if (config.decision_wait <= 0) released.push(...sampler.tick());
          emit(released);
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          ticks.unsubscribe();
          emit(sampler.flush());
          subscriber.complete();
        },
      });
      return () => {
        ticks.unsubscribe();
        input.unsubscribe();
      };
    });
}
