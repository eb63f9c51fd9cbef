import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';

export const schema = {
  wait: setting.duration(
    '2s',
    'How long a client call is held for the inbound request it was made under to arrive (that request is emitted only once answered). Calls of requests slower than this stay unlinked.',
  ),
  multiplex_memory: setting.duration('5m', 'How long a thread seen serving several requests at once (an event loop) is kept from linking its calls after the last such overlap.'),
  max_threads: setting.nat(65536, 'Thread timelines kept; the least recently active is dropped beyond it.'),
  max_scopes_per_thread: setting.nat(1024, 'Request scopes remembered per thread; the oldest is dropped beyond it.'),
  event_loop_ticks: setting.bool(
    false,
    "Link an event loop's calls by its ticks (README, \"Event loops\"; needs the ebpf receiver's `tracepoints: syscall`). Off by default: work that outlives its request or serves none (a timer after the response, a background timer) can land under another request.",
  ),
  forwarded_ids: setting.bool(
    true,
    "Link an outbound HTTP call carrying the trace id or x-request-id of the one inbound request of its process open with it (README, \"Forwarded ids\").",
  ),
  max_pending: setting.nat(100000, 'Client calls held at most; beyond it the oldest are decided at once with what is known.'),
};

/** durations in milliseconds */
export type ThreadCorrelationConfig = ConfigOf<typeof schema>;

export function validate(config: ThreadCorrelationConfig): ConfigProblem[] {
  return config.wait <= 0 ? [{ path: 'wait', message: 'must be greater than 0' }] : [];
}
