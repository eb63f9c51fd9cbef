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
  return endpointFirst(a, aPort, b, bPort) ? spellKey(a, aPort, b, bPort) : spellKey(b, bPort, a, aPort);
}

/** Whether `a:aPort` sorts before `b:bPort`, decided without making the two texts (and flattening them to compare). */
function endpointFirst(a: string, aPort: number, b: string, bPort: number): boolean {
  if (a === b) return portTextBefore(aPort, bPort);
  // one address a prefix of the other: the ':' after the shorter meets a character of the longer
  if (b.startsWith(a)) return ':' < b[a.length];
  if (a.startsWith(b)) return a[b.length] < ':';
  return a < b;
}

const isPort = (p: number): boolean => p >= 0 && p <= 65535 && p === Math.trunc(p);
const digitsOf = (p: number): number => (p < 10 ? 1 : p < 100 ? 2 : p < 1000 ? 3 : p < 10000 ? 4 : 5);
const TENS = [1, 10, 100, 1000, 10000];

/** String(p) < String(q) without making the texts: the shorter number scaled to the other's digits, a prefix first. */
function portTextBefore(p: number, q: number): boolean {
  if (!isPort(p) || !isPort(q)) return String(p) < String(q);
  const dp = digitsOf(p);
  const dq = digitsOf(q);
  const sp = dp < dq ? p * TENS[dq - dp] : p;
  const sq = dq < dp ? q * TENS[dp - dq] : q;
  return sp < sq || (sp === sq && dp < dq);
}

/**
 * The key's bytes: two endpoints of up to 45 characters (IPv6 text) and
 * 5 digits, a ':' each, and the '-' between them fit.
 */
const KEY_BYTES = Buffer.alloc(128) as Buffer & { latin1Slice(start: number, end: number): string };
const COLON = 0x3a;
const DASH = 0x2d;
const ZERO = 0x30;

/**
 * `a:aPort-b:bPort`, written as bytes and read back as one flat string (the
 * addresses are ASCII): joining the seven parts cost half again as much and
 * made an array per key. A rope (`${x}-${y}`) is never made: every span
 * holding the key would keep its parts.
 */
function spellKey(a: string, aPort: number, b: string, bPort: number): string {
  if (!isPort(aPort) || !isPort(bPort) || a.length + b.length > KEY_BYTES.length - 13) return [a, ':', aPort, '-', b, ':', bPort].join('');
  let at = putAscii(a, 0);
  if (at >= 0) {
    KEY_BYTES[at++] = COLON;
    at = putPort(aPort, at);
    KEY_BYTES[at++] = DASH;
    at = putAscii(b, at);
  }
  if (at < 0) return [a, ':', aPort, '-', b, ':', bPort].join('');
  KEY_BYTES[at++] = COLON;
  at = putPort(bPort, at);
  // Node's own reader under toString('latin1'), ~30 ns less per key without the argument checks (parse/decoder.ts reads text so too)
  return KEY_BYTES.latin1Slice(0, at);
}

/** `s` to KEY_BYTES from `at`; where it ends, or -1 if it is not ASCII. */
function putAscii(s: string, at: number): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    KEY_BYTES[at + i] = c;
  }
  return at + s.length;
}

/** The port's decimal digits to KEY_BYTES from `at`; where they end. */
function putPort(p: number, at: number): number {
  const end = at + digitsOf(p);
  for (let i = end - 1; i >= at; i--) {
    KEY_BYTES[i] = ZERO + (p % 10);
    p = (p - (p % 10)) / 10;
  }
  return end;
}
