/**
 * The data that flows between components. Stages exchange arrays (batches) of
 * one of these item types, named by a SignalType.
 */

export type SignalType = 'records' | 'messages' | 'spans' | 'traces' | 'metrics';

export const SIGNAL_TYPES: readonly SignalType[] = ['records', 'messages', 'spans', 'traces', 'metrics'];

/** What is known of the host that captured a record; shared by every record from it. */
export interface HostInfo {
  /** Stable host identity (machine-id), used in link keys. */
  hostId: string;
  hostName: string;
  /** CLOCK_REALTIME minus CLOCK_MONOTONIC at capture time, in ns: turns record times into Unix times. */
  bootTimeUnixNano: bigint;
}

/** One decoded `struct network_data` (bpf/network_data.h): a socket syscall and its first bytes. */
export interface NetworkRecord {
  /** syscall start, ns, CLOCK_MONOTONIC of the capturing host */
  ts: number;
  /** syscall end */
  tsTail: number;
  tid: number;
  /** user-level thread/coroutine id where known, else 0 */
  utid: number;
  pid: number;
  comm: string;
  /** uni_id as 32 hex chars (sk, ktime, prandom): unique per connection on a host */
  connId: string;
  /** own address and port */
  saddr: string;
  sport: number;
  /** peer address and port */
  daddr: string;
  dport: number;
  netns: number;
  /** CONN_META_* bits */
  connMeta: number;
  tcpSeq: number;
  funcId: number;
  fd: number;
  /** bytes the syscall moved (its return value) */
  bufLen: number;
  /** bytes captured in `payload` (< bufLen when truncated) */
  actSize: number;
  /** order of the calls on this connection */
  index: number;
  /** event-loop tick tag (wait generation << 5 | poll phases seen << 4 | reads of the thread in the tick so far, 15 = 15 or more or past the poll phase); 0 or absent: unknown */
  loopTick?: number;
  /** the captured bytes; a view, not a copy; length === actSize */
  payload: Uint8Array;
  host: HostInfo;
}

export type Protocol = 'http' | 'redis' | 'mysql' | 'postgresql' | 'http2';

export interface HttpFields {
  method: string;
  /** request target as sent (origin-form path?query, or absolute-form) */
  target: string;
  path: string;
  query?: string;
  version: string;
  host?: string;
  userAgent?: string;
  status?: number;
  /** propagation headers and x-request-id, lower-case names; nothing else is kept */
  headers: Record<string, string>;
  requestBodySize?: number;
  responseBodySize?: number;
  /** HTTP/2: the `:scheme` sent */
  scheme?: string;
  /** HTTP/2: the RST_STREAM error code name (`CANCEL`, `REFUSED_STREAM`, …) that ended the stream */
  reset?: string;
}

/** gRPC over an HTTP/2 stream (content-type application/grpc…). */
export interface GrpcFields {
  /** `package.Service/Method`, from `:path` */
  method: string;
  /** the `grpc-status` of the trailers (or of a trailers-only response); absent when none was seen */
  statusCode?: number;
  /** the `grpc-message` sent with it, percent-decoded */
  statusMessage?: string;
}

export interface RedisFields {
  /** upper-case command name, with the subcommand for container commands (`CLIENT SETNAME`) */
  command: string;
  db: number;
  /** error prefix of an error reply (`ERR`, `WRONGTYPE`) */
  errorPrefix?: string;
  errorMessage?: string;
  /** arguments, only when configured; secret ones are REDACTED (core/redaction), none are kept for AUTH */
  args?: string[];
}

export interface MysqlFields {
  /** COM_QUERY, COM_STMT_EXECUTE, ... */
  command: string;
  /** sanitised SQL (literals replaced by `?`) */
  sql?: string;
  /** first keyword of the statement, upper case (`SELECT`) */
  operation?: string;
  /** low-cardinality summary (`SELECT users`) */
  summary?: string;
  database?: string;
  statementId?: number;
  errorCode?: number;
  sqlState?: string;
  errorMessage?: string;
  rows?: number;
  affectedRows?: number;
  /** names of the query attributes sent with the command (MySQL 8 CLIENT_QUERY_ATTRIBUTES); their values are never read */
  queryAttributes?: string[];
}

export interface PostgresqlFields {
  /** the frontend message that asked: Query (simple query), Execute (extended query), FunctionCall; Parse, Bind, … for a failed group without Execute */
  command: string;
  /** sanitised SQL (literals replaced by `?`; `$1` parameters kept) */
  sql?: string;
  /** first keyword (`SELECT`), else the CommandComplete tag's command; `BATCH SELECT` / `BATCH` for a query string of several statements */
  operation?: string;
  /** low-cardinality summary (`SELECT users`), `BATCH …` as for operation */
  summary?: string;
  /** statements in a simple query string holding two or more */
  batchSize?: number;
  /** the startup `database` parameter (the user name when absent, as the server takes it) */
  database?: string;
  /** the prepared statement and portal executed, when named */
  statement?: string;
  portal?: string;
  /** the last CommandComplete tag (`INSERT 0 5`) */
  commandTag?: string;
  /** DataRows returned */
  rows?: number;
  /** rows inserted, updated, deleted, merged or copied, from the CommandComplete tags */
  affectedRows?: number;
  /** SQLSTATE of an ErrorResponse */
  sqlState?: string;
  errorSeverity?: string;
  errorMessage?: string;
}

/**
 * One parsed request/response pair. Times are CLOCK_MONOTONIC ns of `host`.
 *
 * Every field is present on every message, from the one literal parse makes
 * it with (processors/parse/session-base.ts): the later stages only assign
 * fields declared here, never add one, so all messages keep one hidden class
 * and their fields in the object itself. A field that may be unset holds
 * undefined (`| undefined`), or 0 where 0 already means none; add a field
 * here and in that literal together.
 */
export interface L7Message {
  protocol: Protocol;
  role: 'client' | 'server';
  pid: number;
  tid: number;
  comm: string;
  connId: string;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  netns: number;
  connMeta: number;
  host: HostInfo;
  reqStart: number;
  reqEnd: number;
  /** undefined, as the other response fields, when no response was seen */
  respStart: number | undefined;
  respEnd: number | undefined;
  /** TCP sequence number of the request's / response's first byte */
  reqSeq: number;
  respSeq: number | undefined;
  /** thread that read/wrote the response (differs from tid when handed over) */
  respTid: number | undefined;
  /** user-level thread (a Go goroutine) of the request's first call, when the probe knows it; 0: none */
  utid: number;
  /** user-level thread of the response's first call; 0 when utid is or no response was seen */
  respUtid: number;
  /** event-loop tick tag (NetworkRecord.loopTick) of the request's last read (server) or first write (client); 0: unknown */
  reqTick: number;
  /** event-loop tick tag of the response's last read (client); 0: unknown */
  respTick: number;
  /** ok: response seen; error: protocol-level error; no_response: closed or timed out before a response */
  outcome: 'ok' | 'error' | 'no_response';
  /** the protocol's fields: the one of `protocol` is set (`http` also for `http2`) */
  http: HttpFields | undefined;
  redis: RedisFields | undefined;
  mysql: MysqlFields | undefined;
  /** on `http2` messages (which carry their request and response in `http`) that are gRPC calls */
  grpc: GrpcFields | undefined;
  postgresql: PostgresqlFields | undefined;
  /** in-process trace id, set by thread_correlation: a server message's own, or its serving scope's on a linked client call */
  threadTraceId: string | undefined;
  /** trace context found in the request's headers, set by the propagation processor */
  propagation: PropagatedContext | undefined;
}

/** A trace context propagated on the wire (W3C, Datadog or B3 headers); ids lower-case hex. */
export interface PropagatedContext {
  format: 'w3c' | 'datadog' | 'b3';
  /** 32 hex chars (64-bit ids are left-padded with zeros) */
  traceId: string;
  /** the sender's span id: the parent of the span that carries it; absent when not sent */
  parentSpanId?: string;
  /** true sampled, false not sampled, absent when the sender left the decision open */
  sampled?: boolean;
  traceState?: string;
  /** Datadog sampling priority (-1 … 2) */
  priority?: number;
  /** Datadog origin (`synthetics`, `rum`, …) */
  origin?: string;
}

/** OTLP attribute values. Integers that must stay 64-bit are bigint. */
export type AttributeValue =
  | string
  | number
  | boolean
  | bigint
  | Uint8Array
  | AttributeValue[]
  | { [key: string]: AttributeValue };

export type Attributes = Record<string, AttributeValue>;

export interface Resource {
  attributes: Attributes;
  droppedAttributesCount?: number;
}

export interface InstrumentationScope {
  name: string;
  version?: string;
  attributes?: Attributes;
}

/** OTLP span kinds, same numbers as the protocol */
export enum SpanKind {
  UNSPECIFIED = 0,
  INTERNAL = 1,
  SERVER = 2,
  CLIENT = 3,
  PRODUCER = 4,
  CONSUMER = 5,
}

/** OTLP status codes */
export enum StatusCode {
  UNSET = 0,
  OK = 1,
  ERROR = 2,
}

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: Attributes;
  droppedAttributesCount?: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState?: string;
  attributes: Attributes;
  flags?: number;
  droppedAttributesCount?: number;
}

/** A span as OTLP knows it; ids are lower-case hex. */
export interface Span {
  /** 32 hex chars; empty until linking assigns one (unless propagated) */
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  flags?: number;
  name: string;
  kind: SpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  droppedAttributesCount?: number;
  /** may be a shared, frozen empty list (span_builder's): a stage adding events gives the span a list of its own */
  events: SpanEvent[];
  droppedEventsCount?: number;
  /** may be a shared, frozen empty list, as `events` */
  links: SpanLink[];
  droppedLinksCount?: number;
  status: { code: StatusCode; message?: string };
  /** shared by every span of one process */
  resource: Resource;
  scope: InstrumentationScope;
}

/** Spans joined into one trace. */
export interface Trace {
  traceId: string;
  spans: Span[];
  /**
   * Set by linking on the traces it releases while running (their link
   * windows closed, or max_spans was reached): every span linking puts in
   * the trace is here; spans arriving later join its id afterwards, as late
   * spans. Tail sampling decides such a trace at once instead of waiting
   * decision_wait a second time.
   */
  whole?: boolean;
}

/** A data point of the request (RED) metrics, exported as OTLP metrics. */
export interface MetricPoint {
  name: string;
  description?: string;
  unit?: string;
  kind: 'sum' | 'histogram' | 'gauge';
  resource: Resource;
  scope: InstrumentationScope;
  attributes: Attributes;
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** sum/gauge value */
  value?: number;
  /** histogram */
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  min?: number;
  max?: number;
  /** sum/histogram: cumulative (start fixed at the series' first point) or delta (start at the previous flush); cumulative when absent */
  temporality?: 'cumulative' | 'delta';
}

export interface SignalItems {
  records: NetworkRecord;
  messages: L7Message;
  spans: Span;
  traces: Trace;
  metrics: MetricPoint;
}

export type Batch<S extends SignalType = SignalType> = SignalItems[S][];

/** What a trace counts for in telemetry and batch sizes: its spans, as the Collector counts spans. */
export function traceSize(t: Trace): number {
  return t.spans.length;
}

/** How many items a batch counts for in telemetry: traces count their spans. */
export function itemCount(signal: SignalType, batch: readonly unknown[]): number {
  if (signal !== 'traces') return batch.length;
  let n = 0;
  for (const t of batch as Trace[]) n += traceSize(t);
  return n;
}

/**
 * A copy of a batch that a stage may change without another pipeline seeing
 * the change (the Collector clones data for consumers that mutate it). Stages
 * set an item's own fields (trace and parent ids, the propagated context, the
 * thread trace id) and replace nested objects such as attributes rather than
 * editing them, so one copy of each item, and of each trace's span list, is
 * enough. Records are read in place by every stage and never changed.
 */
export function copyBatch(signal: SignalType, batch: Batch): Batch {
  switch (signal) {
    case 'records':
      return batch;
    case 'traces':
      return (batch as Trace[]).map((t) => ({ ...t, spans: t.spans.map((s) => ({ ...s })) }));
    default:
      return (batch as Array<L7Message | Span | MetricPoint>).map((item) => ({ ...item })) as Batch;
  }
}
