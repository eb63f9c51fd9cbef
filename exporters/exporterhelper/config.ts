/**
 * The Collector's exporterhelper settings, under the Collector's names and with
 * its defaults, so a user's `sending_queue` / `retry_on_failure` / `timeout`
 * block works unchanged.
 */
export interface QueueSettings {
  enabled: boolean;
  /** batches (requests) that may wait; beyond this they are dropped, or wait when block_on_overflow */
  queue_size: number;
  num_consumers: number;
  block_on_overflow: boolean;
}

export interface RetrySettings {
  enabled: boolean;
  /** all durations in milliseconds after config resolution */
  initial_interval: number;
  randomization_factor: number;
  multiplier: number;
  max_interval: number;
  /** 0: retry forever */
  max_elapsed_time: number;
}

export const sendingQueueSchema = {
  enabled: { doc: 'queue batches and send them from background consumers; off: send inline', format: Boolean, default: true },
  queue_size: { doc: 'batches that may wait in the queue; more are dropped (counted) unless block_on_overflow', format: 'nat', default: 1000 },
  num_consumers: { doc: 'batches sent concurrently', format: 'nat', default: 10 },
  block_on_overflow: { doc: 'when the queue is full, hold new batches until there is room instead of dropping them', format: Boolean, default: false },
};

export const retryOnFailureSchema = {
  enabled: { doc: 'retry batches that failed with a retryable error', format: Boolean, default: true },
  initial_interval: { doc: 'wait before the first retry', format: 'duration', default: '5s' },
  randomization_factor: { doc: 'each wait is drawn from interval × (1 ± this)', format: Number, default: 0.5 },
  multiplier: { doc: 'growth of the wait after each retry', format: Number, default: 1.5 },
  max_interval: { doc: 'upper bound of one wait', format: 'duration', default: '30s' },
  max_elapsed_time: { doc: 'give a batch up after retrying this long; 0 retries forever', format: 'duration', default: '300s' },
};

export function validateHelper(c: { sending_queue: QueueSettings; retry_on_failure: RetrySettings }): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  if (c.sending_queue.enabled && c.sending_queue.queue_size < 1) out.push({ path: 'sending_queue.queue_size', message: 'must be at least 1 when the queue is enabled' });
  if (c.sending_queue.num_consumers < 1) out.push({ path: 'sending_queue.num_consumers', message: 'must be at least 1' });
  const r = c.retry_on_failure;
  if (r.randomization_factor < 0 || r.randomization_factor > 1) out.push({ path: 'retry_on_failure.randomization_factor', message: 'must be between 0 and 1' });
  if (r.multiplier < 1) out.push({ path: 'retry_on_failure.multiplier', message: 'must be at least 1' });
  if (r.enabled && r.initial_interval <= 0) out.push({ path: 'retry_on_failure.initial_interval', message: 'must be above 0 when retries are enabled' });
  return out;
}
