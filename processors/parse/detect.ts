/**
 * Protocol detection from the first bytes of either direction. Each check is
 * a few byte compares, so connections that speak nothing espan knows cost
 * little before they are set aside.
 */
import type { Protocol } from '../../core/signals';
import { looksLikeRequestLine as httpRequest, looksLikeStatusLine as httpResponse } from './http/parser';
import { detectHttp2 } from './http2/frames';
import { looksLikeCompressedCommand } from './mysql/compression';
import { looksLikeCommand, looksLikeGreeting } from './mysql/parser';
import { looksLikeFrontendQuery, looksLikeStartup } from './postgresql/parser';
import { looksLikeRequest as redisRequest } from './redis/parser';

export interface Detection {
  readonly protocol: Protocol;
  /** the bytes are a request (else a response or server greeting): tells which direction carries requests */
  readonly isRequest: boolean;
}

// one answer of each kind, shared: detection runs on every record of a connection until it knows
const HTTP_REQUEST: Detection = { protocol: 'http', isRequest: true };
const HTTP_RESPONSE: Detection = { protocol: 'http', isRequest: false };
const HTTP2_REQUEST: Detection = { protocol: 'http2', isRequest: true };
const HTTP2_RESPONSE: Detection = { protocol: 'http2', isRequest: false };
const MYSQL_GREETING: Detection = { protocol: 'mysql', isRequest: false };
const MYSQL_COMMAND: Detection = { protocol: 'mysql', isRequest: true };
const REDIS_REQUEST: Detection = { protocol: 'redis', isRequest: true };
const POSTGRESQL_REQUEST: Detection = { protocol: 'postgresql', isRequest: true };

/** The protocol of buf[at, end), the first bytes of a direction (a whole buffer unless told). */
export function detect(buf: Uint8Array, enabled: ReadonlySet<Protocol>, at = 0, end = buf.length): Detection | undefined {
  return new ProtocolDetector(enabled).detect(buf, at, end);
}

/**
 * detect() for one set of enabled protocols, kept by the parse engine: which
 * protocols are enabled is asked of the set once, not five times at every
 * record a connection shows before its protocol is known.
 */
export class ProtocolDetector {
  private readonly http: boolean;
  private readonly http2: boolean;
  private readonly postgresql: boolean;
  private readonly mysql: boolean;
  private readonly redis: boolean;

  constructor(enabled: ReadonlySet<Protocol>) {
    this.http = enabled.has('http');
    this.http2 = enabled.has('http2');
    this.postgresql = enabled.has('postgresql');
    this.mysql = enabled.has('mysql');
    this.redis = enabled.has('redis');
  }

  detect(buf: Uint8Array, at = 0, end = buf.length): Detection | undefined {
    if (end === at) return undefined;
    if (this.http) {
      if (httpRequest(buf, at, end)) return HTTP_REQUEST;
      if (httpResponse(buf, at, end)) return HTTP_RESPONSE;
    }
    if (this.http2) {
      // the client preface, a server's first SETTINGS, or (capture began later) frames whose header blocks tell the side
      const side = detectHttp2(buf, at, end);
      if (side) return side === 'request' ? HTTP2_REQUEST : HTTP2_RESPONSE;
    }
    // before MySQL: a PostgreSQL Query of 22 bytes reads as a MySQL COM_STMT_PREPARE header, while the
    // length check here rules MySQL packets out (their first byte would make a length beyond any query)
    if (this.postgresql && (looksLikeStartup(buf, at, end) || looksLikeFrontendQuery(buf, at, end))) return POSTGRESQL_REQUEST;
    if (this.mysql) {
      if (looksLikeGreeting(buf, at, end)) return MYSQL_GREETING;
      // a connection picked up after its handshake may be speaking the compressed protocol
      if (looksLikeCommand(buf, at, end) || looksLikeCompressedCommand(buf, at, end)) return MYSQL_COMMAND;
    }
    if (this.redis && redisRequest(buf, at, end)) return REDIS_REQUEST;
    return undefined;
  }
}
