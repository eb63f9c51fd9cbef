import type { ProcessorFactory } from '../../core/component';
import { correlateThreads } from './correlate';

export interface ThreadCorrelationConfig {
  wait: number;
  multiplex_memory: number;
  max_threads: number;
  max_scopes_per_thread: number;
  max_pending: number;
}

export const threadCorrelationFactory: ProcessorFactory<ThreadCorrelationConfig, 'messages', 'messages'> = {
  kind: 'processor',
  type: 'thread_correlation',
  consumes: 'messages',
  produces: 'messages',
  /** sets each message's thread trace id */
  mutatesData: true,
  schema: {
    wait: {
      doc: 'How long a client call is held for the inbound request it was made under to arrive (that request is emitted only once answered). Calls of requests slower than this stay unlinked.',
      format: 'duration',
      default: '2s',
    },
    multiplex_memory: {
      doc: 'How long a thread seen serving several requests at once (an event loop) is kept from linking its calls after the last such overlap.',
      format: 'duration',
      default: '5m',
    },
    max_threads: { doc: 'Thread timelines kept; the least recently active is dropped beyond it.', format: 'nat', default: 65536 },
    max_scopes_per_thread: { doc: 'Request scopes remembered per thread; the oldest is dropped beyond it.', format: 'nat', default: 1024 },
    max_pending: { doc: 'Client calls held at most; beyond it the oldest are decided at once with what is known.', format: 'nat', default: 100000 },
  },
  validate(config) {
    return config.wait <= 0 ? [{ path: 'wait', message: 'must be greater than 0' }] : [];
  },
  create(config, ctx) {
    const calls = ctx.telemetry.counter('espan_thread_correlation_calls_total', 'Client calls by correlation result: linked, ambiguous (thread serving several requests), no_scope, no_task.', ['result']);
    const evicted = ctx.telemetry.counter('espan_thread_correlation_evicted_total', 'Thread timelines or scopes dropped to stay within bounds.');
    const threads = ctx.telemetry.gauge('espan_thread_correlation_threads', 'Thread timelines held.');
    const scopes = ctx.telemetry.gauge('espan_thread_correlation_scopes', 'Request scopes held.');
    return {
      operator: correlateThreads(
        {
          waitMs: config.wait,
          multiplexMemoryMs: config.multiplex_memory,
          maxThreads: config.max_threads,
          maxScopesPerThread: config.max_scopes_per_thread,
          maxPending: config.max_pending,
        },
        {
          call: (result, n) => calls(n, { result }),
          evicted: (n) => evicted(n),
          timelines: (t, s) => {
            threads(t);
            scopes(s);
          },
        },
      ),
    };
  },
};
