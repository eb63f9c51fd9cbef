/**
 * The wire side of an OTLP exporter, after the Collector's exporterhelper:
 * a transport moves bytes already serialised for one signal and reports what
 * the server made of them. Queueing, retrying and counting are the sender's.
 */
import type { PartialSuccess } from '../../core/otlp/decode';

export type OtlpSignal = 'traces' | 'metrics';

export const USER_AGENT = 'espan-otlp-exporter/0.1.0';

/** One value for each OTLP signal: each is sent with its own settings. */
export type PerSignal<T> = Record<OtlpSignal, T>;

export function perSignal<T>(f: (signal: OtlpSignal) => T): PerSignal<T> {
  return { traces: f('traces'), metrics: f('metrics') };
}

/** The server's answer to one attempt, classified by the Collector's rules. */
export type SendOutcome =
  | { kind: 'success' }
  /** accepted, except `rejected` items (0: accepted with a warning) */
  | ({ kind: 'partial' } & PartialSuccess)
  /** worth sending again; the server may ask to wait at least throttleMs (RetryInfo, Retry-After) */
  | { kind: 'retryable'; message: string; throttleMs?: number }
  /** the same bytes will never be accepted */
  | { kind: 'permanent'; message: string };

export interface Transport {
  /** One attempt, answered within timeoutMs. Never rejects: a network failure is a retryable outcome. */
  send(signal: OtlpSignal, body: Uint8Array, timeoutMs: number): Promise<SendOutcome>;
  close(): Promise<void>;
}

/** The outcome of a 2xx / OK answer whose body may carry partial_success. */
export function acceptedOutcome(partial: PartialSuccess | undefined): SendOutcome {
  return partial ? { kind: 'partial', ...partial } : { kind: 'success' };
}
