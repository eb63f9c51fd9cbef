/**
 * The settings every OTLP exporter shares, described once under the
 * Collector's names and with its defaults, so a user's `tls` / `headers` /
 * `compression` / `timeout` / `sending_queue` / `retry_on_failure` block works
 * unchanged.
 */
import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';

export const clientTlsSchema = {
  insecure: setting.bool(false, 'gRPC: plaintext instead of TLS (an http:// endpoint also means plaintext); OTEL_EXPORTER_OTLP_INSECURE when unset'),
  ca_file: setting.string('', 'PEM CA bundle that signs the server certificate (default: system roots); OTEL_EXPORTER_OTLP_CERTIFICATE when unset'),
  cert_file: setting.string('', 'PEM client certificate for mutual TLS; OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE when unset'),
  key_file: setting.string('', 'PEM key of cert_file; OTEL_EXPORTER_OTLP_CLIENT_KEY when unset'),
  insecure_skip_verify: setting.bool(false, 'TLS without verifying the server certificate (testing only)'),
  server_name_override: setting.string('', 'name expected in the server certificate instead of the endpoint host'),
};

export const sendingQueueSchema = {
  enabled: setting.bool(true, 'queue batches and send them from background consumers; off: send inline'),
  queue_size: setting.nat(1000, 'batches that may wait in the queue; more are dropped (counted) unless block_on_overflow'),
  num_consumers: setting.nat(10, 'batches sent concurrently'),
  block_on_overflow: setting.bool(false, 'when the queue is full, hold new batches until there is room instead of dropping them'),
};

export const retryOnFailureSchema = {
  enabled: setting.bool(true, 'retry batches that failed with a retryable error'),
  initial_interval: setting.duration('5s', 'wait before the first retry'),
  randomization_factor: setting.number(0.5, 'each wait is drawn from interval × (1 ± this)'),
  multiplier: setting.number(1.5, 'growth of the wait after each retry'),
  max_interval: setting.duration('30s', 'upper bound of one wait'),
  max_elapsed_time: setting.duration('300s', 'give a batch up after retrying this long; 0 retries forever'),
};

/** Everything but the endpoint: the otlp_grpc and otlp_http schemas spread this after their own keys. */
export const otlpClientSchema = {
  tls: clientTlsSchema,
  headers: setting.stringMap({}, 'headers (gRPC metadata) sent with every request; OTEL_EXPORTER_OTLP_HEADERS adds to them'),
  compression: setting.oneOf(['gzip', 'none', ''], '', 'gzip or none; unset: OTEL_EXPORTER_OTLP_COMPRESSION, else gzip (the Collector default)'),
  timeout: setting.optionalDuration('time allowed for one send attempt; unset: OTEL_EXPORTER_OTLP_TIMEOUT (ms), else 5s'),
  sending_queue: sendingQueueSchema,
  retry_on_failure: retryOnFailureSchema,
};

export type ClientTlsSettings = ConfigOf<typeof clientTlsSchema>;
export type QueueSettings = ConfigOf<typeof sendingQueueSchema>;
/** durations in milliseconds; max_elapsed_time 0 retries forever */
export type RetrySettings = ConfigOf<typeof retryOnFailureSchema>;
export type OtlpClientConfig = ConfigOf<typeof otlpClientSchema>;

/** The checks that span several shared keys. */
export function validateOtlpClient(c: OtlpClientConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (c.sending_queue.enabled && c.sending_queue.queue_size < 1) out.push({ path: 'sending_queue.queue_size', message: 'must be at least 1 when the queue is enabled' });
  if (c.sending_queue.num_consumers < 1) out.push({ path: 'sending_queue.num_consumers', message: 'must be at least 1' });
  const r = c.retry_on_failure;
  if (r.randomization_factor < 0 || r.randomization_factor > 1) out.push({ path: 'retry_on_failure.randomization_factor', message: 'must be between 0 and 1' });
  if (r.multiplier < 1) out.push({ path: 'retry_on_failure.multiplier', message: 'must be at least 1' });
  if (r.enabled && r.initial_interval <= 0) out.push({ path: 'retry_on_failure.initial_interval', message: 'must be above 0 when retries are enabled' });
  if (Boolean(c.tls.cert_file) !== Boolean(c.tls.key_file)) out.push({ path: 'tls', message: 'cert_file and key_file go together (mutual TLS needs both)' });
  return out;
}
