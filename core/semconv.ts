/**
 * Attribute names of the `espan.*` namespace: the link keys that travel on
 * eSpans between agent and linker as ordinary OTLP attributes, so any OTLP hop
 * can sit in between. Standard names come from the OpenTelemetry semantic
 * conventions and are written out where they are used.
 */
export const ESPAN = {
  /** in-process (thread) trace id: a server span and the client calls its thread made while serving it share it */
  THREAD_TRACE_ID: 'espan.thread_trace_id',
  /** TCP sequence number of the request's first byte (int) */
  REQ_SEQ: 'espan.req_seq',
  /** TCP sequence number of the response's first byte (int) */
  RESP_SEQ: 'espan.resp_seq',
  /**
   * Normalised connection key, the same on both ends of a TCP connection:
   * "<addr>:<port>-<addr>:<port>" with the two endpoints in sorted order.
   */
  CONN_KEY: 'espan.conn_key',
  /** id of the host that captured the span (machine-id) */
  HOST_ID: 'espan.host_id',
  /** network namespace inode of the socket (int) */
  NETNS: 'espan.netns',
  /** thread id that served / made the request (int) */
  TID: 'espan.tid',
  /** where the span's trace id and parent came from: "w3c", "datadog" or "b3"; absent when not propagated */
  PROPAGATION: 'espan.propagation',
  /** sampling decision propagated in headers: true sampled, false not sampled; absent when none */
  PROPAGATED_SAMPLED: 'espan.propagated.sampled',
  /** Datadog sampling priority as propagated (int) */
  PROPAGATED_PRIORITY: 'espan.propagated.priority',
  /** true when pid/tid are unknown (spans from pcap captures) */
  NO_TASK: 'espan.no_task',
  /** the span came from eBPF capture (true), as opposed to an SDK via OTLP */
  CAPTURED: 'espan.captured',
} as const;

/**
 * The `espan.*` attributes by their ESPAN names, for attribute literals that
 * spell the names out: V8 builds a literal of plain names as one copy, and
 * names computed at run time one property at a time. Typed, so a misspelt or
 * missing name does not compile.
 */
export type EspanAttributes = {
  [ESPAN.CAPTURED]: true;
  [ESPAN.HOST_ID]: string;
  [ESPAN.CONN_KEY]: string;
  [ESPAN.REQ_SEQ]: number;
  [ESPAN.NETNS]: number;
  [ESPAN.RESP_SEQ]?: number;
  [ESPAN.TID]?: number;
  [ESPAN.NO_TASK]?: true;
  [ESPAN.THREAD_TRACE_ID]?: string;
  [ESPAN.PROPAGATION]?: string;
  [ESPAN.PROPAGATED_SAMPLED]?: boolean;
  [ESPAN.PROPAGATED_PRIORITY]?: number;
};

/** Scope of the spans espan makes. */
export const ESPAN_SCOPE = { name: 'espan', version: '0.1.0' };

/** Same key on both ends of a connection: endpoints sorted (as the texts `addr:port`). */
export function connectionKey(a: string, aPort: number, b: string, bPort: number): string {
  // joined, not concatenated: one flat string, where `${x}-${y}` is a rope of its parts that every span holding it keeps
  return endpointFirst(a, aPort, b, bPort) ? [a, ':', aPort, '-', b, ':', bPort].join('') : [b, ':', bPort, '-', a, ':', aPort].join('');
}

/** Whether `a:aPort` sorts before `b:bPort`, decided without making the two texts (and flattening them to compare). */
function endpointFirst(a: string, aPort: number, b: string, bPort: number): boolean {
  if (a === b) return String(aPort) < String(bPort);
  // one address a prefix of the other: the ':' after the shorter meets a character of the longer
  if (b.startsWith(a)) return ':' < b[a.length];
  if (a.startsWith(b)) return a[b.length] < ':';
  return a < b;
}
