/**
 * Span name, attributes and status per the OpenTelemetry semantic conventions
 * (HTTP spans, database spans with the stable `db.*` names, Redis, MySQL).
 */
import { ConnMeta } from '../../core/records/network-data';
import { StatusCode, type Attributes, type L7Message } from '../../core/signals';
import { redactQuery, redactSqlLiterals, redactSqlLiteralsInText, redisCommandHasSecrets } from '../../core/redaction';

export interface SpanShape {
  name: string;
  status: { code: StatusCode; message?: string };
}

export interface SemconvOptions {
  /** lower-case names of query parameters whose values are redacted */
  sensitiveQueryParameters: ReadonlySet<string>;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
const MAX_STATUS_MESSAGE = 256;

function peerAndNetwork(m: L7Message, a: Attributes): void {
  a['network.peer.address'] = m.daddr;
  a['network.peer.port'] = m.dport;
  a['network.transport'] = (m.connMeta & ConnMeta.UDP) !== 0 ? 'udp' : 'tcp';
  a['network.type'] = (m.connMeta & ConnMeta.IPV6) !== 0 && !m.daddr.startsWith('::ffff:') ? 'ipv6' : 'ipv4';
}

/** The server's own endpoint: local for server spans, the peer for client spans. */
function serverEndpoint(m: L7Message, a: Attributes): void {
  if (m.role === 'server') {
    a['server.address'] = m.saddr;
    a['server.port'] = m.sport;
  } else {
    a['server.address'] = m.daddr;
    a['server.port'] = m.dport;
  }
}

/** Host header → [host, port]; IPv6 literals keep their brackets off. */
function splitHost(hostHeader: string): [string, number | undefined] {
  const h = hostHeader.trim();
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(h) ?? /^([^:]+)(?::(\d+))?$/.exec(h);
  if (!m) return [h, undefined];
  return [m[1], m[2] !== undefined ? Number(m[2]) : undefined];
}

function httpSpan(m: L7Message, a: Attributes, opts: SemconvOptions): SpanShape {
  const h = m.http!;
  const method = h.method.toUpperCase();
  const known = KNOWN_METHODS.has(method);
  a['http.request.method'] = known ? method : '_OTHER';
  if (!known || method !== h.method) a['http.request.method_original'] = h.method;
  const version = h.version.replace(/^HTTP\//i, '');
  if (version) a['network.protocol.version'] = version;
  a['url.scheme'] = 'http';
  let path = h.path;
  let query = h.query;
  // absolute-form targets (proxies) carry the authority: keep only path and query
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      const u = new URL(path);
      path = u.pathname;
      query = query ?? (u.search ? u.search.slice(1) : undefined);
    } catch {
      /* keep as sent */
    }
  }
  if (query !== undefined) query = redactQuery(query, opts.sensitiveQueryParameters);
  a['url.path'] = path;
  if (query) a['url.query'] = query;
  serverEndpoint(m, a);
  if (h.host) {
    const [host, port] = splitHost(h.host);
    if (host) a['server.address'] = host;
    if (port !== undefined) a['server.port'] = port;
    else if (m.role === 'client') a['server.port'] = m.dport;
  }
  if (m.role === 'server') {
    a['client.address'] = m.daddr;
    a['client.port'] = m.dport;
  } else {
    const port = a['server.port'] as number;
    const host = String(a['server.address']);
    const hostPart = host.includes(':') ? `[${host}]` : host;
    a['url.full'] = `http://${port === 80 ? hostPart : `${hostPart}:${port}`}${path}${query ? `?${query}` : ''}`;
  }
  peerAndNetwork(m, a);
  if (h.userAgent) a['user_agent.original'] = h.userAgent;
  if (h.requestBodySize !== undefined) a['http.request.body.size'] = h.requestBodySize;
  if (h.responseBodySize !== undefined) a['http.response.body.size'] = h.responseBodySize;
  const status: SpanShape['status'] = { code: StatusCode.UNSET };
  if (h.status !== undefined) {
    a['http.response.status_code'] = h.status;
    // 4xx is the client's fault: an error for the client span, not for the server that answered it
    const isError = h.status >= 500 || (m.role === 'client' && h.status >= 400) || h.status < 100;
    if (isError) {
      a['error.type'] = String(h.status);
      status.code = StatusCode.ERROR;
    }
  } else if (m.outcome !== 'ok') {
    a['error.type'] = m.outcome === 'no_response' ? 'no_response' : '_OTHER';
    status.code = StatusCode.ERROR;
  }
  return { name: known ? method : 'HTTP', status };
}

function redisSpan(m: L7Message, a: Attributes): SpanShape {
  const r = m.redis!;
  const command = r.command.toUpperCase();
  a['db.system.name'] = 'redis';
  a['db.operation.name'] = command;
  a['db.namespace'] = String(r.db);
  // Values may be anything a user stores: only the statement's shape is kept, and not even that where it may hold credentials.
  if (r.args && !redisCommandHasSecrets(command)) {
    a['db.query.text'] = [command, ...r.args.map(() => '?')].join(' ');
  }
  serverEndpoint(m, a);
  peerAndNetwork(m, a);
  const status: SpanShape['status'] = { code: StatusCode.UNSET };
  if (m.outcome === 'error' || r.errorPrefix) {
    const code = r.errorPrefix ?? 'ERR';
    a['db.response.status_code'] = code;
    a['error.type'] = code;
    status.code = StatusCode.ERROR;
    if (r.errorMessage) status.message = r.errorMessage.slice(0, MAX_STATUS_MESSAGE);
  } else if (m.outcome === 'no_response') {
    a['error.type'] = 'no_response';
    status.code = StatusCode.ERROR;
  }
  return { name: command, status };
}

function mysqlSpan(m: L7Message, a: Attributes): SpanShape {
  const q = m.mysql!;
  a['db.system.name'] = 'mysql';
  const operation = q.operation?.toUpperCase() ?? q.command;
  a['db.operation.name'] = operation;
  if (q.database) a['db.namespace'] = q.database;
  // the same text whether or not the parser kept the literals (mysql.keep_raw_sql)
  if (q.sql) a['db.query.text'] = redactSqlLiterals(q.sql);
  if (q.summary) a['db.query.summary'] = q.summary;
  if (q.rows !== undefined) a['db.response.returned_rows'] = q.rows;
  serverEndpoint(m, a);
  peerAndNetwork(m, a);
  const status: SpanShape['status'] = { code: StatusCode.UNSET };
  if (m.outcome === 'error' || q.errorCode !== undefined) {
    const code = q.errorCode !== undefined ? String(q.errorCode) : '_OTHER';
    a['db.response.status_code'] = code;
    a['error.type'] = code;
    status.code = StatusCode.ERROR;
    // MySQL error texts quote the offending statement part, which can hold literals
    if (q.errorMessage) status.message = redactSqlLiteralsInText(q.errorMessage).slice(0, MAX_STATUS_MESSAGE);
  } else if (m.outcome === 'no_response') {
    a['error.type'] = 'no_response';
    status.code = StatusCode.ERROR;
  }
  const name = q.summary ?? (q.database && q.operation ? `${operation} ${q.database}` : operation);
  return { name, status };
}

/** Fills `a` with the protocol attributes and returns the span's name and status. */
export function semconvFor(m: L7Message, a: Attributes, opts: SemconvOptions): SpanShape {
  if (m.protocol === 'http' && m.http) return httpSpan(m, a, opts);
  if (m.protocol === 'redis' && m.redis) return redisSpan(m, a);
  if (m.protocol === 'mysql' && m.mysql) return mysqlSpan(m, a);
  // A message without its protocol's fields: still a span, named after the protocol.
  serverEndpoint(m, a);
  peerAndNetwork(m, a);
  return { name: m.protocol, status: { code: m.outcome === 'ok' ? StatusCode.UNSET : StatusCode.ERROR } };
}
