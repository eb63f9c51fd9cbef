/**
 * The one shape of espan's stateful stages (parse, thread_correlation,
 * linking, tail_sampling): an engine that takes batches, is ticked on a
 * period so an idle stream still drains, and gives up everything it holds
 * when the input completes.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export interface StatefulEngine<In, Out> {
  /** takes a batch; returns what it completed (possibly nothing) */
  add(batch: In[], now: number): Out[];
  /** called every period: returns what has waited long enough */
  tick(now: number): Out[];
  /** the input completed: returns everything still held */
  flush(): Out[];
}

/**
 * Runs an engine as an operator: one output batch per call that returned
 * items, never an empty one. The engine is made per subscription, and times
 * come from the scheduler (a TestScheduler in tests).
 *
 * A throw from the engine, in `add`, `tick` or `flush`, stops the timer and
 * the input and goes downstream as an error notification, as RxJS's own
 * operators route a throwing projection; the service then logs and counts the
 * failed pipeline while the others keep running. (A plain observer's `next`
 * that throws is instead rethrown asynchronously, as an uncaught exception.)
 *
 * @example
 *   spans$.pipe(statefulOperator(() => new Linker(config), config.link_window))
 */
export function statefulOperator<In, Out>(
  createEngine: () => StatefulEngine<In, Out>,
  periodMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<In[], Out[]> {
  const period = Math.max(1, periodMs);
  return (source) =>
    new Observable<Out[]>((subscriber) => {
      let ticks: Subscription | undefined;
      let input: Subscription | undefined;
      let failed = false;
      const stop = (): void => {
        ticks?.unsubscribe();
        input?.unsubscribe();
      };
      /** runs one engine step and passes its output on; false once the engine has thrown */
      const step = (run: () => Out[]): boolean => {
        let out: Out[];
        try {
          out = run();
        } catch (e) {
          failed = true;
          stop();
          subscriber.error(e);
          return false;
        }
        if (out.length) subscriber.next(out);
        return true;
      };
      let engine: StatefulEngine<In, Out>;
      try {
        engine = createEngine();
      } catch (e) {
        subscriber.error(e);
        return;
      }
      ticks = scheduler.schedule(function (this: { schedule(state?: unknown, delay?: number): void }) {
        if (step(() => engine.tick(scheduler.now()))) this.schedule(undefined, period);
      }, period);
      input = source.subscribe({
        next: (batch) => {
          if (!failed) step(() => engine.add(batch, scheduler.now()));
        },
        error: (e) => {
          ticks?.unsubscribe();
          subscriber.error(e);
        },
        complete: () => {
          ticks?.unsubscribe();
          if (step(() => engine.flush())) subscriber.complete();
        },
      });
      // the source may have completed or failed synchronously
      if (failed) input.unsubscribe();
      return stop;
    });
}
