/**
 * `linking` as an RxJS operator, spans in, traces out. Windows close on span
 * time as batches arrive, and on a timer of the given scheduler (TestScheduler
 * in tests) so an idle or replayed stream still drains; completing the input
 * emits everything held.
 */
import { asyncScheduler, interval, Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Span, Trace } from '../../core/signals';
import type { ComponentTelemetry } from '../../core/telemetry/metrics';
import type { LinkingConfig } from './config';
import { Linker } from './linker';

export function linking(config: LinkingConfig, telemetry?: ComponentTelemetry, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<Span[], Trace[]> {
  return (source) =>
    new Observable<Trace[]>((subscriber) => {
      const linker = new Linker(config, () => scheduler.now(), telemetry);
      const emit = (traces: Trace[]): void => {
        if (traces.length) subscriber.next(traces);
      };
      const ticks = interval(config.link_window, scheduler).subscribe(() => emit(linker.tick()));
      const input = source.subscribe({
        next: (batch) => emit(linker.add(batch)),
        error: (e) => subscriber.error(e),
        complete: () => {
          ticks.unsubscribe();
          emit(linker.flush());
          subscriber.complete();
        },
      });
      return () => {
        ticks.unsubscribe();
        input.unsubscribe();
      };
    });
}
