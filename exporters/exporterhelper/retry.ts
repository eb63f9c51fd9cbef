/**
 * The retry layer: sends the same bytes again while the answer is retryable,
 * waiting by the Collector's exponential back-off (or longer, when the server
 * asks), until `max_elapsed_time` would be passed.
 */
import { initialBackoff, nextWait } from './backoff';
import type { RetrySettings } from './config';
import type { SendOutcome } from './transport';

/** Resolves after ms, or as soon as the signal aborts. */
export type Sleep = (ms: number, abort?: AbortSignal) => Promise<unknown>;

export const realSleep: Sleep = (ms, abort) =>
  new Promise<void>((resolve) => {
    if (abort?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      abort?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    abort?.addEventListener('abort', onAbort, { once: true });
  });

/** What became of a request: the server took it, it was given up, or shutdown stopped the wait for a retry. */
export type Delivery =
  | { kind: 'delivered'; outcome: Extract<SendOutcome, { kind: 'success' | 'partial' }> }
  | { kind: 'dropped'; reason: 'permanent' | 'retries_exhausted'; message: string; retryable: boolean; attempts: number }
  | { kind: 'abandoned' };

export interface RetryOptions {
  retry: RetrySettings;
  sleep: Sleep;
  random: () => number;
  now: () => number;
  /** told before each wait */
  onRetry(message: string, waitMs: number, attempt: number): void;
}

export async function sendWithRetry(attempt: () => Promise<SendOutcome>, o: RetryOptions, abort: AbortSignal): Promise<Delivery> {
  const state = initialBackoff(o.retry);
  const started = o.now();
  for (let attempts = 1; ; attempts++) {
    if (abort.aborted) return { kind: 'abandoned' };
    const outcome = await attempt();
    if (outcome.kind === 'success' || outcome.kind === 'partial') return { kind: 'delivered', outcome };
    const retryable = outcome.kind === 'retryable';
    if (!retryable || !o.retry.enabled) return { kind: 'dropped', reason: 'permanent', message: outcome.message, retryable, attempts };
    state.elapsed = o.now() - started;
    const wait = nextWait(o.retry, state, o.random(), outcome.throttleMs);
    if (wait === undefined) return { kind: 'dropped', reason: 'retries_exhausted', message: outcome.message, retryable, attempts };
    if (abort.aborted) return { kind: 'abandoned' }; // shutdown gave up on it during the attempt
    o.onRetry(outcome.message, wait, attempts);
    await o.sleep(wait, abort);
  }
}
