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

/** What `make` gives for recently seen keys, made once each; bounded as Interner is. */
export class Memo<V> {
  private readonly known = new Map<string, V>();

  constructor(
    private readonly max: number,
    private readonly make: (key: string) => V,
  ) {}

  of(key: string): V {
    let v = this.known.get(key);
    if (v === undefined) {
      if (this.known.size >= this.max) this.known.clear();
      this.known.set(key, (v = this.make(key)));
    }
    return v;
  }
}

/** Slots of the connection-key table, a power of two: connections whose requests come at once rarely outnumber it. */
const CONNECTION_SLOTS = 16384;
const SLOT_SHIFT = 32 - Math.log2(CONNECTION_SLOTS);

/**
 * Connection keys (core/semconv.ts) by endpoints, in a table of one slot
 * per port pair, checked against the endpoints the key was made of. Both
 * ends of a connection have the same key and share the slot, and a
 * connection's requests come close together, so a small table keeps what
 * repeats; a miss formats the key again and takes the slot. The table is a
 * few arrays made once: no entry object per connection for the collector to
 * move and sweep.
 */
export class ConnectionKeys {
  private readonly addrA: string[] = new Array<string>(CONNECTION_SLOTS).fill('');
  private readonly addrB: string[] = new Array<string>(CONNECTION_SLOTS).fill('');
  private readonly portA = new Int32Array(CONNECTION_SLOTS).fill(-1);
  private readonly portB = new Int32Array(CONNECTION_SLOTS).fill(-1);
  private readonly keys: string[] = new Array<string>(CONNECTION_SLOTS).fill('');

  of(m: L7Message): string {
    const { saddr, sport, daddr, dport } = m;
    // symmetric in the two ports: either end finds the slot
    const slot = Math.imul(sport ^ dport, 0x9e3779b1) >>> SLOT_SHIFT;
    const a = this.addrA[slot];
    const aPort = this.portA[slot];
    const b = this.addrB[slot];
    const bPort = this.portB[slot];
    if ((sport === aPort && dport === bPort && saddr === a && daddr === b) || (sport === bPort && dport === aPort && saddr === b && daddr === a)) return this.keys[slot];
    const key = connectionKey(saddr, sport, daddr, dport);
    this.addrA[slot] = saddr;
    this.portA[slot] = sport;
    this.addrB[slot] = daddr;
    this.portB[slot] = dport;
    this.keys[slot] = key;
    return key;
  }
}
