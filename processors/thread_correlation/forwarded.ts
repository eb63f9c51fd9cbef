/**
 * Requests identified by what an application forwards: the trace id of the
 * trace context on an inbound HTTP request (W3C, Datadog or B3 headers), or
 * its `x-request-id`, which services in a mesh copy onto the calls they make
 * for it. An outbound HTTP call carrying one of them, written while the one
 * inbound request of its process carrying it was open, was made for that
 * request (README, "Forwarded ids"), whatever thread or loop made it.
 */
import { extractTraceId } from '../propagation';
import type { L7Message } from '../../core/signals';

const NO_KEYS: readonly string[] = [];

/** Whether an object has no enumerable key. */
function isEmpty(headers: Readonly<Record<string, string>>): boolean {
  for (const _ in headers) return false;
  return true;
}

/** The forwarded ids of an HTTP message, as map keys; none for other protocols. */
export function forwardedKeys(m: L7Message): readonly string[] {
  const headers = m.http?.headers;
  // The parser keeps only the propagation headers and x-request-id: most messages have none, and the four extractors would each look.
  if (!headers || isEmpty(headers)) return NO_KEYS;
  const traceId = extractTraceId(headers);
  const requestId = headers['x-request-id'];
  if (traceId === undefined) return requestId ? [`${m.pid}|request:${requestId}`] : NO_KEYS;
  const trace = `${m.pid}|trace:${traceId}`;
  return requestId ? [trace, `${m.pid}|request:${requestId}`] : [trace];
}

interface Holder {
  threadTraceId: string;
  /** request read start … response write start (ns) */
  start: number;
  end: number;
  /** inbound requests of the process seen with this id (a retry resends it) */
  requests: number;
}

/** One host's inbound requests by forwarded id; in arrival order, which is nearly end order. */
export class ForwardedIds {
  private readonly byKey = new Map<string, Holder>();

  get size(): number {
    return this.byKey.size;
  }

  /** An answered inbound request with its thread trace id and scope. */
  addServer(keys: readonly string[], threadTraceId: string, start: number, end: number): void {
    for (const key of keys) {
      const h = this.byKey.get(key);
      if (h) {
        h.requests++;
        h.end = Math.max(h.end, end);
        // kept at the end of the order: it is pruned by its latest request
        this.byKey.delete(key);
        this.byKey.set(key, h);
      } else this.byKey.set(key, { threadTraceId, start, end, requests: 1 });
    }
  }

  /** The thread trace id of the one inbound request carrying one of `keys` and open at `at`, if there is exactly one such. */
  holderAt(keys: readonly string[], at: number): string | undefined {
    let found: string | undefined;
    for (const key of keys) {
      const h = this.byKey.get(key);
      if (!h || h.requests !== 1 || at < h.start || at > h.end) continue;
      if (found !== undefined && found !== h.threadTraceId) return undefined;
      found = h.threadTraceId;
    }
    return found;
  }

  /** Forgets requests that ended before `t` (from the oldest, up to the first that has not). */
  dropEndedBefore(t: number): void {
    for (const [key, h] of this.byKey) {
      if (h.end >= t) return;
      this.byKey.delete(key);
    }
  }
}
