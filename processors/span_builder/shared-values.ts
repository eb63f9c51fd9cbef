/**
 * Attribute values that many spans carry alike, made once and shared. A span
 * is held for seconds (linking's windows, then tail sampling), and a string
 * built per span costs its bytes again in every held span: a connection key
 * is the same for every request on its connection, a path or a statement
 * for most requests to one endpoint.
 */
import { spanIdAfter, spanIdPrefix } from '../../core/message-ids';
import { redactQuery } from '../../core/redaction';
import { connectionKey } from '../../core/semconv';
import type { HostInfo, L7Message } from '../../core/signals';

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

/**
 * Query strings with the values of sensitive parameters redacted
 * (core/redaction redactQuery): a few queries come again and again (a
 * front end's `user=3`), and redacting one splits it and decodes every
 * parameter name. Remembered per set of sensitive names (a span_builder's
 * configuration), the last 1024 distinct queries of each.
 */
export class RedactedQueries {
  private readonly bySet = new WeakMap<ReadonlySet<string>, Memo<string>>();
  private lastSet: ReadonlySet<string> | undefined;
  private lastMemo: Memo<string> | undefined;

  of(query: string, sensitive: ReadonlySet<string>): string {
    if (sensitive !== this.lastSet) this.use(sensitive);
    return this.lastMemo!.of(query);
  }

  private use(sensitive: ReadonlySet<string>): void {
    let memo = this.bySet.get(sensitive);
    if (memo === undefined) this.bySet.set(sensitive, (memo = redactionsWith(sensitive)));
    this.lastSet = sensitive;
    this.lastMemo = memo;
  }
}

/** Made apart from RedactedQueries' methods: a closure inside one makes V8 allocate the method's context on every call. */
function redactionsWith(sensitive: ReadonlySet<string>): Memo<string> {
  return new Memo(1024, (query) => redactQuery(query, sensitive));
}

/** Slots of the connection-key table, a power of two: connections whose requests come at once rarely outnumber it. */
const CONNECTION_SLOTS = 16384;
const SLOT_SHIFT = 32 - Math.log2(CONNECTION_SLOTS);
/** A slot's fields, side by side in one array: a lookup reads one or two cache lines, not one per field. */
const ADDR_A = 0;
const PORT_A = 1;
const ADDR_B = 2;
const PORT_B = 3;
const KEY = 4;
const SLOT_SIZE = 5;

/**
 * Connection keys (core/semconv.ts) by endpoints, in a table of one slot
 * per port pair, checked against the endpoints the key was made of. Both
 * ends of a connection have the same key and share the slot, and a
 * connection's requests come close together, so a small table keeps what
 * repeats; a miss formats the key again and takes the slot. The table is one
 * array made once: no entry object per connection for the collector to move
 * and sweep.
 */
export class ConnectionKeys {
  private readonly slots: Array<string | number> = new Array<string | number>(CONNECTION_SLOTS * SLOT_SIZE).fill(-1);

  of(m: L7Message): string {
    const { saddr, sport, daddr, dport } = m;
    const t = this.slots;
    // symmetric in the two ports: either end finds the slot
    const i = (Math.imul(sport ^ dport, 0x9e3779b1) >>> SLOT_SHIFT) * SLOT_SIZE;
    const sameEnds = t[i + PORT_A] === sport && t[i + PORT_B] === dport && t[i + ADDR_A] === saddr && t[i + ADDR_B] === daddr;
    if (sameEnds || (t[i + PORT_A] === dport && t[i + PORT_B] === sport && t[i + ADDR_A] === daddr && t[i + ADDR_B] === saddr)) return t[i + KEY] as string;
    const key = connectionKey(saddr, sport, daddr, dport);
    t[i + ADDR_A] = saddr;
    t[i + PORT_A] = sport;
    t[i + ADDR_B] = daddr;
    t[i + PORT_B] = dport;
    t[i + KEY] = key;
    return key;
  }
}

/** Slots of the sequence-number table, a power of two. */
const NUMBER_SLOTS = 4096;
const NUMBER_SHIFT = 32 - Math.log2(NUMBER_SLOTS);

/**
 * Numbers above V8's small integers (TCP sequence numbers: above 2^31 half
 * the time; netns inodes: always) shared between the spans that carry them:
 * read from a message into a span's attributes, such a number is a heap
 * number of its own (16 bytes, held as long as the span). A host's spans
 * come from a few network namespaces; a request's sequence numbers are the
 * same at both ends of its connection, and a host that runs both (a client
 * span and its server's) makes the second span a few messages after the
 * first: each takes the number from a direct-mapped table of recent ones.
 */
export class SharedNumbers {
  /** by slot, the number last seen there, as put in a span: tagged elements (an array of doubles would hold them unboxed, and box them again when read) */
  private readonly boxes: unknown[] = new Array<unknown>(NUMBER_SLOTS).fill(null);

  of(n: number): number {
    // a small integer has no box to share
    if ((n | 0) === n) return n;
    const i = Math.imul(n | 0, 0x9e3779b1) >>> NUMBER_SHIFT;
    const box = this.boxes[i];
    if (box === n) return box;
    this.boxes[i] = n;
    return n;
  }
}

/**
 * Connection ends of the span-id table, a power of two: kept small (32 kB),
 * so that connections of one request each (which gain nothing from it) find
 * it in the CPU's cache, while a server's keep-alive connections stay in it.
 */
const END_SLOTS = 1024;
const END_SHIFT = 32 - Math.log2(END_SLOTS);
/** an end's fields: its connection id and host, and the two lanes of its span-id prefix (small integers) */
const END_ID = 0;
const END_HOST = 1;
const END_H1 = 2;
const END_H2 = 3;
const END_SIZE = 4;

/**
 * Span ids (core/message-ids.ts spanIdOf) with the hash of their connection
 * end (its host and connection id, 32 characters) made once per end while it
 * keeps its slot, not per span.
 */
export class SpanIds {
  private readonly ends: Array<string | number | HostInfo> = new Array<string | number | HostInfo>(END_SLOTS * END_SIZE).fill(-1);

  of(m: L7Message): string {
    const t = this.ends;
    // the two ends of a connection in different slots
    const i = (Math.imul((m.sport << 16) ^ m.dport, 0x9e3779b1) >>> END_SHIFT) * END_SIZE;
    if (t[i + END_ID] !== m.connId || t[i + END_HOST] !== m.host) this.take(i, m);
    return spanIdAfter(t[i + END_H1] as number, t[i + END_H2] as number, m);
  }

  /** The slot at `i` for the message's connection end. */
  private take(i: number, m: L7Message): void {
    const t = this.ends;
    spanIdPrefix(m, PREFIX, 0);
    t[i + END_ID] = m.connId;
    t[i + END_HOST] = m.host;
    t[i + END_H1] = PREFIX[0];
    t[i + END_H2] = PREFIX[1];
  }
}

/** scratch for a prefix made */
const PREFIX = new Int32Array(2);
