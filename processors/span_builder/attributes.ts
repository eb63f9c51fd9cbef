/**
 * Span name, attributes and status per the OpenTelemetry semantic conventions
 * (HTTP spans, database spans with the stable `db.*` names, Redis, MySQL,
 * PostgreSQL).
 *
 * Each protocol puts the link keys every span has (EspanAttributes,
 * core/semconv.ts), then its own keys, then the link keys not every span
 * has, into an AttributesBuilder (attribute-shapes.ts), which makes the
 * span's attributes as one object literal of exactly those keys.
 */
import { grpcCodeName } from '../../core/grpc';
import { ConnMeta } from '../../core/records/network-data';
import type { EspanAttributes } from '../../core/semconv';
import { StatusCode, type Attributes, type L7Message, type Span } from '../../core/signals';
import { redactSqlLiterals, redactSqlLiteralsInText, redisCommandHasSecrets } from '../../core/redaction';
import { AttributesBuilder, KeyRun } from './attribute-shapes';
import { ConnectionKeys, Interner, Memo, RedactedQueries, SharedNumbers } from './shared-values';

/** A span's attributes: the link keys by their names, the protocol's by any. */
export type SpanAttributes = EspanAttributes & Attributes;

export interface SpanShape {
  name: string;
  status: { code: StatusCode; message?: string };
  attributes: SpanAttributes;
}

/** What shapeSpan sets on a span. */
type SpanFields = Pick<Span, 'name' | 'status' | 'attributes'>;

export interface SemconvOptions {
  /** lower-case names of query parameters whose values are redacted */
  sensitiveQueryParameters: ReadonlySet<string>;
}

const SLASH = 0x2f;
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
const MAX_STATUS_MESSAGE = 256;

const transport = (m: L7Message): string => ((m.connMeta & ConnMeta.UDP) !== 0 ? 'udp' : 'tcp');
const urlScheme = (m: L7Message): string => ((m.connMeta & ConnMeta.TLS) !== 0 ? 'https' : 'http');

/** Values spans share rather than build each (shared-values.ts); a pure cache, so one for every span_builder of the process. */
const connectionKeys = new ConnectionKeys();
const strings = new Interner(4096);
const redactedQueries = new RedactedQueries();
const bigNumbers = new SharedNumbers();
const connKey = (m: L7Message): string => connectionKeys.of(m);
const shared = (s: string): string => strings.intern(s);
const networkType = (m: L7Message): string => ((m.connMeta & ConnMeta.IPV6) !== 0 && !m.daddr.startsWith('::ffff:') ? 'ipv6' : 'ipv4');

type Status = SpanShape['status'];
/** The statuses without a message: one frozen object each, shared by the spans that have it. */
export const UNSET: Status = Object.freeze({ code: StatusCode.UNSET });
const ERROR: Status = Object.freeze({ code: StatusCode.ERROR });
/** what a span's attributes are until shapeSpan sets them */
export const NO_ATTRIBUTES = Object.freeze({}) as SpanAttributes;
const errorStatus = (message: string | undefined): Status => (message !== undefined ? { code: StatusCode.ERROR, message: message.slice(0, MAX_STATUS_MESSAGE) } : ERROR);

/** The link keys every span has, first in every span's attributes. */
const LINK_KEYS = new KeyRun(['espan.captured', 'espan.host_id', 'espan.conn_key', 'espan.req_seq', 'espan.netns']);
function linkKeys(m: L7Message, a: AttributesBuilder): void {
  a.putRun(LINK_KEYS);
  a.value(true);
  a.value(m.host.hostId);
  a.value(connKey(m));
  a.value(bigNumbers.of(m.reqSeq));
  a.value(bigNumbers.of(m.netns));
}

/** Sets the span's name, status and attributes: what was put, then the link keys not every span has. */
function finish(out: SpanFields, name: string, status: Status, m: L7Message, a: AttributesBuilder): void {
  out.name = name;
  out.status = status;
  out.attributes = withOptionalLinkKeys(m, a);
}

function withOptionalLinkKeys(m: L7Message, a: AttributesBuilder): SpanAttributes {
  if (m.respSeq !== undefined) a.put('espan.resp_seq', bigNumbers.of(m.respSeq));
  if ((m.connMeta & ConnMeta.NO_TASK) !== 0 || m.pid === 0) a.put('espan.no_task', true);
  else a.put('espan.tid', m.tid);
  if (m.threadTraceId) a.put('espan.thread_trace_id', m.threadTraceId);
  const p = m.propagation;
  if (p) {
    a.put('espan.propagation', p.format);
    if (p.sampled !== undefined) a.put('espan.propagated.sampled', p.sampled);
    if (p.priority !== undefined) a.put('espan.propagated.priority', p.priority);
  }
  return a.make() as SpanAttributes;
}

/** Host header → [host, port]; IPv6 literals keep their brackets off. */
function parseHost(hostHeader: string): [string, number | undefined] {
  const h = hostHeader.trim();
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(h) ?? /^([^:]+)(?::(\d+))?$/.exec(h);
  if (!m) return [h, undefined];
  return [m[1], m[2] !== undefined ? Number(m[2]) : undefined];
}

/** A few hosts take most requests: each header is parsed once (the last 1024 distinct). */
const hosts = new Memo(1024, parseHost);
/** shared by every span with that header: read, never changed */
const splitHost = (hostHeader: string): readonly [string, number | undefined] => hosts.of(hostHeader);

/** Redis commands upper-cased, made once per distinct command text (a few dozen on real traffic) */
const redisCommands = new Memo(1024, (command) => shared(command.toUpperCase()));

/** Redis logical databases by index, as db.namespace: the default 16 made once. */
const REDIS_DB_NAMES = Array.from({ length: 16 }, (_, i) => String(i));
const redisDbName = (db: number): string => REDIS_DB_NAMES[db] ?? String(db);

/** The keys each protocol puts first, always, after the link keys (values in this order). */
const HTTP_KEYS = new KeyRun(['http.request.method', 'url.scheme', 'url.path']);
const CLIENT_KEYS = new KeyRun(['client.address', 'client.port']);
const REDIS_KEYS = new KeyRun(['db.system.name', 'db.operation.name', 'db.namespace']);
const DB_KEYS = new KeyRun(['db.system.name', 'db.operation.name']);
const RPC_KEYS = new KeyRun(['rpc.system.name', 'rpc.method']);

function httpSpan(m: L7Message, opts: SemconvOptions, a: AttributesBuilder, out: SpanFields): void {
  const h = m.http!;
  // the parsers give known methods as their constants: no upper-casing (a call into the runtime) for those
  const given = KNOWN_METHODS.has(h.method);
  const method = given ? h.method : h.method.toUpperCase();
  const known = given || KNOWN_METHODS.has(method);
  let path = h.path;
  let query = h.query;
  // absolute-form targets (proxies) carry the authority: keep only path and query (origin-form ones start with '/')
  if (path.charCodeAt(0) !== SLASH && /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      const u = new URL(path);
      path = u.pathname;
      query = query ?? (u.search ? u.search.slice(1) : undefined);
    } catch {
      /* keep as sent */
    }
  }
  if (query !== undefined) query = redactedQueries.of(query, opts.sensitiveQueryParameters);
  // the server's own endpoint (local for server spans, the peer for client spans), unless the Host header names it
  let serverAddress = m.role === 'server' ? m.saddr : m.daddr;
  let serverPort = m.role === 'server' ? m.sport : m.dport;
  if (h.host) {
    const [host, port] = splitHost(h.host);
    if (host) serverAddress = host;
    if (port !== undefined) serverPort = port;
  }
  linkKeys(m, a);
  a.putRun(HTTP_KEYS);
  a.value(known ? method : '_OTHER');
  a.value(urlScheme(m));
  a.value(shared(path));
  putEndpoints(m, a, shared(serverAddress), serverPort);
  if (!known || method !== h.method) a.put('http.request.method_original', h.method);
  // only a version long enough to hold the prefix ('HTTP/', 5 characters) is searched for it, and
  // interned: the shorter ones are the parsers' constants ('1.1', '1.0', '2')
  const version = h.version.length > 4 ? shared(h.version.replace(/^HTTP\//i, '')) : h.version;
  if (version) a.put('network.protocol.version', version);
  if (query) a.put('url.query', query);
  if (m.role === 'server') {
    a.putRun(CLIENT_KEYS);
    a.value(m.daddr);
    a.value(m.dport);
  } else {
    const hostPart = serverAddress.includes(':') ? `[${serverAddress}]` : serverAddress;
    const scheme = urlScheme(m);
    const defaultPort = scheme === 'https' ? 443 : 80;
    a.put('url.full', shared(`${scheme}://${serverPort === defaultPort ? hostPart : `${hostPart}:${serverPort}`}${path}${query ? `?${query}` : ''}`));
  }
  if (h.userAgent) a.put('user_agent.original', shared(h.userAgent));
  if (h.requestBodySize !== undefined) a.put('http.request.body.size', h.requestBodySize);
  if (h.responseBodySize !== undefined) a.put('http.response.body.size', h.responseBodySize);
  let status = UNSET;
  if (h.status !== undefined) {
    a.put('http.response.status_code', h.status);
    // 4xx is the client's fault: an error for the client span, not for the server that answered it
    const isError = h.status >= 500 || (m.role === 'client' && h.status >= 400) || h.status < 100;
    if (isError) {
      a.put('error.type', String(h.status));
      status = ERROR;
    }
  } else if (m.outcome !== 'ok') {
    a.put('error.type', m.outcome === 'no_response' ? 'no_response' : h.reset ?? '_OTHER');
    status = ERROR;
  }
  // an HTTP/2 stream reset before its response ended failed, whatever status it had
  if (h.reset !== undefined && status !== ERROR) {
    a.put('error.type', h.reset);
    status = ERROR;
  }
  return finish(out, known ? method : 'HTTP', status, m, a);
}

function redisSpan(m: L7Message, a: AttributesBuilder, out: SpanFields): void {
  const r = m.redis!;
  const command = redisCommands.of(r.command);
  linkKeys(m, a);
  a.putRun(REDIS_KEYS);
  a.value('redis');
  a.value(command);
  a.value(redisDbName(r.db));
  putEndpoints(m, a);
  // Values may be anything a user stores: only the statement's shape is kept, and not even that where it may hold credentials.
  if (r.args && !redisCommandHasSecrets(command)) {
    a.put('db.query.text', shared([command, ...r.args.map(() => '?')].join(' ')));
  }
  let status = UNSET;
  if (m.outcome === 'error' || r.errorPrefix) {
    const code = r.errorPrefix ?? 'ERR';
    a.put('db.response.status_code', code);
    a.put('error.type', code);
    status = errorStatus(r.errorMessage || undefined);
  } else if (m.outcome === 'no_response') {
    a.put('error.type', 'no_response');
    status = ERROR;
  }
  return finish(out, command, status, m, a);
}

function mysqlSpan(m: L7Message, a: AttributesBuilder, out: SpanFields): void {
  const q = m.mysql!;
  const operation = q.operation?.toUpperCase() ?? q.command;
  linkKeys(m, a);
  a.putRun(DB_KEYS);
  a.value('mysql');
  a.value(operation);
  putEndpoints(m, a);
  if (q.database) a.put('db.namespace', q.database);
  // the same text whether or not the parser kept the literals (mysql.keep_raw_sql)
  if (q.sql) a.put('db.query.text', shared(redactSqlLiterals(q.sql)));
  if (q.summary) a.put('db.query.summary', shared(q.summary));
  if (q.rows !== undefined) a.put('db.response.returned_rows', q.rows);
  let status = UNSET;
  if (m.outcome === 'error' || q.errorCode !== undefined) {
    const code = q.errorCode !== undefined ? String(q.errorCode) : '_OTHER';
    a.put('db.response.status_code', code);
    a.put('error.type', code);
    // MySQL error texts quote the offending statement part, which can hold literals
    status = errorStatus(q.errorMessage ? redactSqlLiteralsInText(q.errorMessage) : undefined);
  } else if (m.outcome === 'no_response') {
    a.put('error.type', 'no_response');
    status = ERROR;
  }
  const name = shared(q.summary ?? (q.database && q.operation ? `${operation} ${q.database}` : operation));
  return finish(out, name, status, m, a);
}

function postgresqlSpan(m: L7Message, a: AttributesBuilder, out: SpanFields): void {
  const q = m.postgresql!;
  const operation = q.operation ?? q.command;
  linkKeys(m, a);
  a.putRun(DB_KEYS);
  a.value('postgresql');
  a.value(operation);
  putEndpoints(m, a);
  if (q.database) a.put('db.namespace', q.database);
  if (q.sql) a.put('db.query.text', shared(redactSqlLiterals(q.sql, 'postgresql')));
  if (q.summary) a.put('db.query.summary', shared(q.summary));
  if (q.batchSize !== undefined) a.put('db.operation.batch.size', q.batchSize);
  if (q.rows !== undefined) a.put('db.response.returned_rows', q.rows);
  let status = UNSET;
  if (m.outcome === 'error' || q.sqlState !== undefined) {
    const code = q.sqlState ?? '_OTHER';
    a.put('db.response.status_code', code);
    a.put('error.type', code);
    // messages quote values (`invalid input syntax for type integer: "abc"`)
    status = errorStatus(q.errorMessage ? redactSqlLiteralsInText(q.errorMessage) : undefined);
  } else if (m.outcome === 'no_response') {
    a.put('error.type', 'no_response');
    status = ERROR;
  }
  const name = shared(q.summary ?? (q.database && q.operation ? `${operation} ${q.database}` : operation));
  return finish(out, name, status, m, a);
}

/** Codes that make a server span an error (OTel gRPC conventions); a client span errs on every code but OK. */
const GRPC_SERVER_ERRORS = new Set(['UNKNOWN', 'DEADLINE_EXCEEDED', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS']);

/** A gRPC call over HTTP/2: OTel RPC conventions (semconv 1.44 names), one span per call, streaming or not. */
function grpcSpan(m: L7Message, a: AttributesBuilder, out: SpanFields): void {
  const g = m.grpc!;
  const h = m.http!;
  const code = g.statusCode === undefined ? undefined : grpcCodeName(g.statusCode);
  // a method the server does not know is no method name (unbounded cardinality): `_OTHER`, with what was asked kept aside
  const method = code === 'UNIMPLEMENTED' ? '_OTHER' : g.method;
  // the server as the client named it (`:authority`), else the connection's server end
  let serverAddress = m.role === 'server' ? m.saddr : m.daddr;
  let serverPort = m.role === 'server' ? m.sport : m.dport;
  if (h.host) {
    const [host, port] = splitHost(h.host);
    if (host) serverAddress = host;
    if (port !== undefined) serverPort = port;
  }
  linkKeys(m, a);
  a.putRun(RPC_KEYS);
  a.value('grpc');
  a.value(method);
  putEndpoints(m, a, shared(serverAddress), serverPort);
  if (method !== g.method) a.put('rpc.method_original', g.method);
  let status = UNSET;
  if (code !== undefined) {
    a.put('rpc.response.status_code', code);
    if (code !== 'OK' && (m.role === 'client' || GRPC_SERVER_ERRORS.has(code))) {
      a.put('error.type', code);
      status = errorStatus(g.statusMessage || undefined);
    }
  } else if (m.outcome !== 'ok') {
    // no grpc-status: reset, unanswered, or an HTTP error status
    a.put('error.type', m.outcome === 'no_response' ? 'no_response' : (h.reset ?? (h.status !== undefined ? String(h.status) : '_OTHER')));
    status = ERROR;
  }
  return finish(out, method === '_OTHER' ? 'grpc' : method, status, m, a);
}

const ENDPOINT_KEYS = new KeyRun(['server.address', 'server.port', 'network.peer.address', 'network.peer.port', 'network.transport', 'network.type']);
/** server.* (the connection's server end unless a request named it) and network.* of the connection. */
function putEndpoints(
  m: L7Message,
  a: AttributesBuilder,
  serverAddress: string = m.role === 'server' ? m.saddr : m.daddr,
  serverPort: number = m.role === 'server' ? m.sport : m.dport,
): void {
  a.putRun(ENDPOINT_KEYS);
  a.value(serverAddress);
  a.value(serverPort);
  a.value(m.daddr);
  a.value(m.dport);
  a.value(transport(m));
  a.value(networkType(m));
}

/** A message without its protocol's fields: still a span, named after the protocol, with its endpoints. */
function bareSpan(m: L7Message, a: AttributesBuilder, out: SpanFields): void {
  linkKeys(m, a);
  putEndpoints(m, a);
  return finish(out, m.protocol, m.outcome === 'ok' ? UNSET : ERROR, m, a);
}

/** One builder for every span: a span's attributes are made before the next span's are put. */
const builder = new AttributesBuilder();

/**
 * Sets the span's name, status and attributes (the link keys and the
 * protocol's) on `out`: the span itself, which spares a shape object per span.
 */
export function shapeSpan(m: L7Message, opts: SemconvOptions, out: SpanFields): void {
  const a = builder.start();
  if (m.protocol === 'http' && m.http) return httpSpan(m, opts, a, out);
  if (m.protocol === 'http2' && m.http) return m.grpc ? grpcSpan(m, a, out) : httpSpan(m, opts, a, out);
  if (m.protocol === 'redis' && m.redis) return redisSpan(m, a, out);
  if (m.protocol === 'mysql' && m.mysql) return mysqlSpan(m, a, out);
  if (m.protocol === 'postgresql' && m.postgresql) return postgresqlSpan(m, a, out);
  return bareSpan(m, a, out);
}

/** The span's name, status and attributes, as an object of their own. */
export function semconvFor(m: L7Message, opts: SemconvOptions): SpanShape {
  const shape = { name: '', status: UNSET, attributes: NO_ATTRIBUTES };
  shapeSpan(m, opts, shape);
  return shape;
}
