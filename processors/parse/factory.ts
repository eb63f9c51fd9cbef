import type { ComponentContext, ProcessorFactory } from '../../core/component';
import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';
import type { Protocol } from '../../core/signals';
import { parseOperator, type ParseCounters, type ParseSettings } from './processor';

export const PROTOCOLS: Protocol[] = ['http', 'redis', 'mysql', 'postgresql', 'http2'];

export const schema = {
  protocols: setting.stringList(['http', 'redis', 'mysql', 'postgresql', 'http2'], 'protocols to detect and parse: http, redis, mysql, postgresql, http2'),
  idle_timeout: setting.duration('2m', 'a connection with no record for this long is freed; its unanswered requests are emitted as no_response'),
  max_connections: setting.nat(16384, 'connections with parser state; beyond it the least recently active is freed'),
  max_pending_requests: setting.nat(128, 'requests per connection waiting for a response; beyond it the oldest is emitted as no_response'),
  max_buffered_bytes: setting.nat(65536, 'bytes held per connection direction for a header that has not fully arrived; beyond it the stream is counted as out of step'),
  detect_records: setting.nat(4, 'records with payload (and at least 16 bytes in one direction) a connection may show without a recognised protocol before it is set aside'),
  midstream_detect_records: setting.nat(64, 'the same for a connection whose start was not seen (open before espan started, a capture cut in the middle): its first records may all be inside one message'),
  proc_root: setting.string('/proc', "where the host's /proc is mounted (/host/proc in a container): the listening sockets of a process tell the side of its connections that were open before espan started"),
  redis: {
    keep_args: setting.bool(false, 'keep command arguments; credentials (AUTH, HELLO/MIGRATE AUTH, ACL SETUSER passwords, CONFIG SET requirepass, …) become REDACTED'),
    max_args: setting.nat(16, 'arguments kept per command when keep_args is on'),
    max_arg_length: setting.nat(128, 'characters kept per argument'),
  },
  mysql: {
    keep_raw_sql: setting.bool(false, 'keep SQL literals in messages (comments still go); by default every literal is replaced with ?. Spans never show literals'),
    max_sql_length: setting.nat(2048, 'characters of SQL kept'),
    max_statements: setting.nat(256, 'prepared statements (id to SQL) remembered per connection'),
  },
  http2: {
    max_header_table_size: setting.nat(65536, 'HPACK bytes held per dynamic table (one per direction of a connection); fields referring to entries beyond it are counted as unknown'),
  },
  postgresql: {
    max_sql_length: setting.nat(2048, 'characters of SQL kept (literals are always replaced with ?)'),
    max_statements: setting.nat(256, 'prepared statements (name to SQL) remembered per connection, and as many portals'),
  },
};

export type ParseConfig = ConfigOf<typeof schema>;

export function settingsFrom(c: ParseConfig): ParseSettings {
  return {
    protocols: c.protocols as Protocol[],
    idleTimeoutMs: c.idle_timeout,
    maxConnections: c.max_connections,
    maxPendingRequests: c.max_pending_requests,
    maxBufferedBytes: c.max_buffered_bytes,
    detectRecords: c.detect_records,
    midstreamDetectRecords: c.midstream_detect_records,
    procRoot: c.proc_root,
    redis: { keepArgs: c.redis.keep_args, maxArgs: c.redis.max_args, maxArgLength: c.redis.max_arg_length },
    mysql: { keepRawSql: c.mysql.keep_raw_sql, maxSqlLength: c.mysql.max_sql_length, maxStatements: c.mysql.max_statements },
    http2: { maxHeaderTableSize: c.http2.max_header_table_size },
    postgresql: { maxSqlLength: c.postgresql.max_sql_length, maxStatements: c.postgresql.max_statements },
  };
}

function countersFor(ctx: ComponentContext): ParseCounters {
  const t = ctx.telemetry;
  const messages = t.counter('espan_parse_messages_total', 'Request/response messages parsed, by protocol.', ['protocol']);
  const failures = t.counter('espan_parse_failures_total', 'Malformed, truncated or unmatched protocol data, counted and skipped, by protocol and reason.', ['protocol', 'reason']);
  const undetected = t.counter('espan_parse_undetected_connections_total', 'Connections set aside because no enabled protocol was recognised.');
  const inferred = t.counter('espan_parse_inferred_side_connections_total', 'Connections whose client/server side the probe did not see (open before espan started, no handshake captured), by the evidence that decided it.', ['evidence']);
  const evicted = t.counter('espan_parse_evicted_connections_total', 'Connection states freed before a close was seen, by reason.', ['reason']);
  const connections = t.gauge('espan_parse_connections', 'Connections with parser state held.');
  return {
    messages: (protocol, n) => messages(n, { protocol }),
    failures: (protocol, reason, n) => failures(n, { protocol, reason }),
    undetected: (n) => undetected(n),
    inferredSide: (evidence, n) => inferred(n, { evidence }),
    evictedConnections: (reason, n) => evicted(n, { reason }),
    connections: (n) => connections(n),
  };
}

/** L7 protocol detection and parsing: `records` in, request/response `messages` out. */
export const parseFactory: ProcessorFactory<ParseConfig, 'records', 'messages'> = {
  kind: 'processor',
  type: 'parse',
  schema,
  validate: (c) => {
    const problems: ConfigProblem[] = [];
    for (const p of c.protocols) if (!PROTOCOLS.includes(p as Protocol)) problems.push({ path: 'protocols', message: `unknown protocol "${p}"; expected some of: ${PROTOCOLS.join(', ')}` });
    if (c.max_connections < 1) problems.push({ path: 'max_connections', message: 'must be at least 1' });
    if (c.max_pending_requests < 1) problems.push({ path: 'max_pending_requests', message: 'must be at least 1' });
    if (c.max_buffered_bytes < 1024) problems.push({ path: 'max_buffered_bytes', message: 'must be at least 1024' });
    if (c.idle_timeout < 1) problems.push({ path: 'idle_timeout', message: 'must be positive' });
    return problems;
  },
  consumes: 'records',
  produces: 'messages',
  create: (c, ctx) => ({ operator: parseOperator(settingsFrom(c), countersFor(ctx)) }),
};
