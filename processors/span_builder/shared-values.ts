/**
 * Attribute values that many spans carry alike, made once and shared. A span
 * is held for seconds (linking's windows, then tail sampling), and a string
 * built per span costs its bytes again in every held span: a connection key
 * is the same for every request on its connection, a path or a statement
 * for most requests to one endpoint.
 */
import { connectionKey } from '../../core/semconv';
import type { L7Message } from '../../core/signals';

/**
 * Strings seen recently, handed out as the first copy seen. Bounded: once
 * `max` are known it starts over, so values that never repeat (ids in
 * paths) cost a lookup each and stay only until then.
 */
export class Interner {
  private readonly known = new Map<string, string>();

  constructor(private readonly max: number) {}

  intern(s: string): string {
    const seen = this.known.get(s);
    if (seen !== undefined) return seen;
    if (this.known.size >= this.max) this.known.clear();
    this.known.set(s, s);
    return s;
  }
}

interface ConnectionEntry {
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  key: string;
}

/** Connections whose key is remembered; a node serves more at once rarely, and a miss only formats the key again. */
const MAX_CONNECTIONS = 16384;

/** Connection keys (core/semconv.ts) by connection id, checked against the endpoints they were made from. */
export class ConnectionKeys {
  private readonly byConnection = new Map<string, ConnectionEntry>();

  of(m: L7Message): string {
    const e = this.byConnection.get(m.connId);
    if (e !== undefined && e.sport === m.sport && e.dport === m.dport && e.saddr === m.saddr && e.daddr === m.daddr) return e.key;
    if (e === undefined && this.byConnection.size >= MAX_CONNECTIONS) this.byConnection.clear();
    const key = connectionKey(m.saddr, m.sport, m.daddr, m.dport);
    this.byConnection.set(m.connId, { saddr: m.saddr, sport: m.sport, daddr: m.daddr, dport: m.dport, key });
    return key;
  }
}
