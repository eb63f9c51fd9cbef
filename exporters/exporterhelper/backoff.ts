/**
 * Exponential back-off as the Collector's retry sender computes it
 * (cenkalti/backoff's ExponentialBackOff): a randomised wait around the current
 * interval, the interval growing by `multiplier` up to `max_interval`, giving
 * up once `max_elapsed_time` would be passed.
 */
import type { RetrySettings } from './config';

export interface BackoffState {
  /** current (unrandomised) interval, ms */
  interval: number;
  /** ms since the first attempt */
  elapsed: number;
}

export function initialBackoff(s: RetrySettings): BackoffState {
  return { interval: s.initial_interval, elapsed: 0 };
}

/**
 * The wait before the next attempt, or undefined to give up. A server's
 * throttle hint (gRPC RetryInfo, HTTP Retry-After) wins when it is longer.
 */
export function nextWait(s: RetrySettings, state: BackoffState, random: number, throttleMs = 0): number | undefined {
  const delta = s.randomization_factor * state.interval;
  const randomised = state.interval - delta + random * (2 * delta);
  const wait = Math.max(randomised, throttleMs);
  if (s.max_elapsed_time > 0 && state.elapsed + wait > s.max_elapsed_time) return undefined;
  state.interval = Math.min(state.interval * s.multiplier, s.max_interval);
  return wait;
}
