/**
 * The side (client or server) of a connection whose open the probe did not
 * see: one that was open before espan started, or a capture without its
 * handshake. The strongest evidence wins: the kernel's listening sockets (the
 * connection's local port is one the process's network namespace listens on
 * at that address: it was accepted; else it was connected), then the bytes
 * (the first message recognised is a request, or a response: its direction
 * tells which end asked).
 */
import type { TcpListener } from '../../core/procfs';

export type SideEvidence = 'listening_port' | 'request_direction' | 'response_direction';

export interface InferredSide {
  readonly role: 'client' | 'server';
  readonly evidence: SideEvidence;
}

/** The answers of one kind of evidence, shared: a side is inferred for every connection whose open was not seen. */
function answers(evidence: SideEvidence): Readonly<Record<'client' | 'server', InferredSide>> {
  return { client: Object.freeze({ role: 'client', evidence }), server: Object.freeze({ role: 'server', evidence }) };
}

const BY_LISTENING_PORT = answers('listening_port');
const BY_REQUEST_DIRECTION = answers('request_direction');
const BY_RESPONSE_DIRECTION = answers('response_direction');

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** Whether a socket listens on `port` at `addr` (or on every address). */
export function listensOn(listeners: readonly TcpListener[], addr: string, port: number): boolean {
  for (const l of listeners) if (l.port === port && (l.addr === addr || WILDCARDS.has(l.addr))) return true;
  return false;
}

/**
 * `listeners`: the listening sockets of the connection's network namespace,
 * when they could be read; `egress`/`isRequest`: the direction of the first
 * message recognised and whether it was a request.
 */
export function inferSide(listeners: readonly TcpListener[] | undefined, saddr: string, sport: number, egress: boolean, isRequest: boolean): InferredSide {
  if (listeners) return BY_LISTENING_PORT[listensOn(listeners, saddr, sport) ? 'server' : 'client'];
  return (isRequest ? BY_REQUEST_DIRECTION : BY_RESPONSE_DIRECTION)[egress === isRequest ? 'client' : 'server'];
}
