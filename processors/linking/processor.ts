/**
 * `linking` as an RxJS operator, spans in, traces out. Windows close on span
 * time as batches arrive, and on a timer of the given scheduler (TestScheduler
 * in tests) so an idle or replayed stream still drains; completing the input
 * emits everything held.
 */
import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Span, Trace } from '../../core/signals';
import { statefulOperator } from '../../core/stateful-operator';
import type { ComponentTelemetry } from '../../core/telemetry/metrics';
import type { LinkingConfig } from './config';
import { Linker } from './linker';

export function linking(config: LinkingConfig, telemetry?: ComponentTelemetry, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<Span[], Trace[]> {
  return statefulOperator(() => new Linker(config, () => scheduler.now(), telemetry), config.link_window, scheduler);
}
