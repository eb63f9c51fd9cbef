/**
 * gRPC status codes the Collector retries (exporterhelper / otlpexporter):
 * CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS;
 * RESOURCE_EXHAUSTED only when the server sent RetryInfo (it is recoverable then).
 */
export function grpcRetryable(code: number, hasRetryInfo: boolean): boolean {
  switch (code) {
    case 1: // CANCELLED
    case 4: // DEADLINE_EXCEEDED
    case 10: // ABORTED
    case 11: // OUT_OF_RANGE
    case 14: // UNAVAILABLE
    case 15: // DATA_LOSS
      return true;
    case 8: // RESOURCE_EXHAUSTED
      return hasRetryInfo;
    default:
      return false;
  }
}

/** HTTP statuses the Collector's otlphttp exporter retries. */
export function httpRetryable(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
