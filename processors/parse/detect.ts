/**
 * Protocol detection from the first bytes of either direction. Each check is
 * a few byte compares, so connections that speak nothing espan knows cost
 * little before they are set aside.
 */
import type { Protocol } from '../../core/signals';
import { looksLikeRequest as httpRequest, looksLikeResponse as httpResponse } from './http/parser';
import { looksLikeCommand, looksLikeGreeting } from './mysql/parser';
import { looksLikeRequest as redisRequest } from './redis/parser';

export interface Detection {
  protocol: Protocol;
  /** the bytes are a request (else a response or server greeting): tells which direction carries requests */
  isRequest: boolean;
}

export function detect(buf: Uint8Array, enabled: ReadonlySet<Protocol>): Detection | undefined {
  const end = buf.length;
  if (end === 0) return undefined;
  if (enabled.has('http')) {
    if (httpRequest(buf, 0, Math.min(end, 12))) return { protocol: 'http', isRequest: true };
    if (httpResponse(buf, 0, end)) return { protocol: 'http', isRequest: false };
  }
  if (enabled.has('mysql')) {
    if (looksLikeGreeting(buf, 0, end)) return { protocol: 'mysql', isRequest: false };
    if (looksLikeCommand(buf, 0, end)) return { protocol: 'mysql', isRequest: true };
  }
  if (enabled.has('redis') && redisRequest(buf, 0, end)) return { protocol: 'redis', isRequest: true };
  return undefined;
}
