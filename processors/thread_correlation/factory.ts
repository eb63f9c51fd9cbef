import type { ProcessorFactory } from '../../core/component';
import { schema, validate, type ThreadCorrelationConfig } from './config';
import { correlateThreads, type CorrelateOptions } from './correlate';

export const threadCorrelationFactory: ProcessorFactory<ThreadCorrelationConfig, 'messages', 'messages'> = {
  kind: 'processor',
  type: 'thread_correlation',
  consumes: 'messages',
  produces: 'messages',
  /** sets each message's thread trace id */
  mutatesData: true,
  schema,
  validate,
  create(config, ctx) {
    const calls = ctx.telemetry.counter('espan_thread_correlation_calls_total', 'Client calls by correlation result: linked, linked_tick (event-loop tick rule), linked_forwarded (an id the application forwards), ambiguous (thread serving several requests), no_scope, no_task.', ['result']);
    const evicted = ctx.telemetry.counter('espan_thread_correlation_evicted_total', 'Thread timelines or scopes dropped to stay within bounds.');
    const threads = ctx.telemetry.gauge('espan_thread_correlation_threads', 'Thread timelines held.');
    const scopes = ctx.telemetry.gauge('espan_thread_correlation_scopes', 'Request scopes held.');
    return {
      operator: correlateThreads(correlateOptions(config), {
        call: (result, n) => calls(n, { result }),
        evicted: (n) => evicted(n),
        timelines: (t, s) => {
          threads(t);
          scopes(s);
        },
      }),
    };
  },
};

/** The correlator's options from a thread_correlation block (durations in milliseconds). */
export function correlateOptions(config: ThreadCorrelationConfig): CorrelateOptions {
  return {
    waitMs: config.wait,
    multiplexMemoryMs: config.multiplex_memory,
    maxThreads: config.max_threads,
    maxScopesPerThread: config.max_scopes_per_thread,
    maxPending: config.max_pending,
    eventLoopTicks: config.event_loop_ticks,
    forwardedIds: config.forwarded_ids,
  };
}
