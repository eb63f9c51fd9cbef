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
  role: 'client' | 'server';
  evidence: SideEvidence;
}

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
  if (listeners) return { role: listensOn(listeners, saddr, sport) ? 'server' : 'client', evidence: 'listening_port' };
  return { role: egress === isRequest ? 'client' : 'server', evidence: isRequest ? 'request_direction' : 'response_direction' };
}
