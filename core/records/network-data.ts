/**
 * The `struct network_data` layout (bpf/network_data.h) and the codec between
 * its bytes and NetworkRecord. NETWORK_DATA_LAYOUT is the one table of offsets:
 * the codec takes its offsets from it, and the layout that travels with every
 * capture file or that the native addon reports is checked against it.
 */
import { fmix32, hex128 } from '../hash';
import type { HostInfo, NetworkRecord } from '../signals';

export const FuncId = {
  READ: 1,
  WRITE: 2,
  READV: 3,
  WRITEV: 4,
  SENDTO: 5,
  RECVFROM: 6,
  SENDMSG: 7,
  RECVMSG: 8,
  CONNECT: 9,
  ACCEPT: 10,
  ACCEPT4: 11,
  CLOSE: 12,
} as const;

export const FUNC_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(FuncId).map(([name, id]) => [id, name.toLowerCase()]),
);

export const ConnMeta = {
  IPV6: 1 << 0,
  UDP: 1 << 1,
  CLIENT: 1 << 2,
  SERVER: 1 << 3,
  /** the payload is a TLS connection's plaintext, taken in the TLS library */
  TLS: 1 << 4,
  NO_TASK: 1 << 8,
} as const;

/** True for calls that move bytes into the process (the peer's bytes). */
export function isIngress(funcId: number): boolean {
  return funcId === FuncId.READ || funcId === FuncId.READV || funcId === FuncId.RECVFROM || funcId === FuncId.RECVMSG;
}

export function isEgress(funcId: number): boolean {
  return funcId === FuncId.WRITE || funcId === FuncId.WRITEV || funcId === FuncId.SENDTO || funcId === FuncId.SENDMSG;
}

export interface LayoutField {
  name: string;
  offset: number;
  size: number;
}

export interface RecordLayout {
  /** bytes before the payload */
  metaSize: number;
  /** capture size the probe was built with */
  l7BufferSize: number;
  fields: LayoutField[];
}

/** Offsets of struct network_data.meta, C names, as clang lays it out on x86_64 and arm64. */
export const NETWORK_DATA_LAYOUT: RecordLayout = {
  metaSize: 128,
  l7BufferSize: 4096,
  fields: [
    { name: 'ts', offset: 0, size: 8 },
    { name: 'ts_tail', offset: 8, size: 8 },
    { name: 'tid_utid', offset: 16, size: 8 },
    { name: 'comm', offset: 24, size: 16 },
    { name: 'uni_id.sk', offset: 40, size: 8 },
    { name: 'uni_id.ktime', offset: 48, size: 4 },
    { name: 'uni_id.prandom', offset: 52, size: 4 },
    { name: 'conn.saddr', offset: 56, size: 16 },
    { name: 'conn.daddr', offset: 72, size: 16 },
    { name: 'conn.sport', offset: 88, size: 2 },
    { name: 'conn.dport', offset: 90, size: 2 },
    { name: 'conn.pid', offset: 92, size: 4 },
    { name: 'conn.netns', offset: 96, size: 4 },
    { name: 'conn.meta', offset: 100, size: 4 },
    { name: 'tcp_seq', offset: 104, size: 4 },
    { name: 'loop_tick', offset: 108, size: 2 },
    { name: 'func_id', offset: 110, size: 2 },
    { name: 'fd', offset: 112, size: 4 },
    { name: 'buf_len', offset: 116, size: 4 },
    { name: 'act_size', offset: 120, size: 4 },
    { name: 'index', offset: 124, size: 4 },
  ],
};

export const META_SIZE = NETWORK_DATA_LAYOUT.metaSize;

function layoutField(name: string): LayoutField {
  const field = NETWORK_DATA_LAYOUT.fields.find((f) => f.name === name);
  if (!field) throw new Error(`NETWORK_DATA_LAYOUT has no field ${name}`);
  return field;
}

// Where the codec below reads and writes each field, taken once from the table above.
const TS = layoutField('ts').offset;
const TS_TAIL = layoutField('ts_tail').offset;
// tid_utid: the kernel thread id in the low 32 bits, a user-level thread id in the high 32
const TID = layoutField('tid_utid').offset;
const UTID = TID + 4;
const COMM = layoutField('comm').offset;
const COMM_SIZE = layoutField('comm').size;
// the connection id is uni_id's bytes as hex: sk, ktime, prandom
const CONN_ID = layoutField('uni_id.sk').offset;
const CONN_ID_SIZE = layoutField('uni_id.prandom').offset + layoutField('uni_id.prandom').size - CONN_ID;
const SK = CONN_ID;
const KTIME = layoutField('uni_id.ktime').offset;
const PRANDOM = layoutField('uni_id.prandom').offset;
const SADDR = layoutField('conn.saddr').offset;
const DADDR = layoutField('conn.daddr').offset;
const SPORT = layoutField('conn.sport').offset;
const DPORT = layoutField('conn.dport').offset;
const PID = layoutField('conn.pid').offset;
const NETNS = layoutField('conn.netns').offset;
const CONN_META = layoutField('conn.meta').offset;
const TCP_SEQ = layoutField('tcp_seq').offset;
const FUNC_ID = layoutField('func_id').offset;
const FD = layoutField('fd').offset;
const BUF_LEN = layoutField('buf_len').offset;
const ACT_SIZE = layoutField('act_size').offset;
const INDEX = layoutField('index').offset;
const LOOP_TICK = layoutField('loop_tick').offset;

/** Fields renamed since captures were first written, by their former name: the bytes held 0 then, which reads as "unknown". */
const FORMER_NAMES: Record<string, string> = { loop_tick: '_pad0' };

/**
 * Names the first difference between a layout found in a file or reported by
 * the addon and the one this code decodes, or returns undefined when they agree.
 * A larger l7BufferSize is fine: payloads are length-delimited.
 */
export function layoutMismatch(found: RecordLayout, expected: RecordLayout = NETWORK_DATA_LAYOUT): string | undefined {
  if (found.metaSize !== expected.metaSize) return `meta size ${found.metaSize}, expected ${expected.metaSize}`;
  const byName = new Map(found.fields.map((f) => [f.name, f]));
  for (const f of expected.fields) {
    const g = byName.get(f.name) ?? byName.get(FORMER_NAMES[f.name]);
    if (!g) return `field ${f.name} missing`;
    if (g.offset !== f.offset || g.size !== f.size) {
      return `field ${f.name} at ${g.offset}+${g.size}, expected ${f.offset}+${f.size}`;
    }
  }
  return undefined;
}

/** Dotted text of the 4 IPv4 address bytes at `at`. */
export function ipv4Text(buf: Uint8Array, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

/** RFC 5952 text of the 16 IPv6 address bytes at `at`. */
export function ipv6Text(buf: Uint8Array, at: number): string {
  // The longest run of zero groups (at least two) becomes "::"; hex is lower-case.
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((buf[at + i] << 8) | buf[at + i + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Address text from the 16 address bytes: IPv4 lives in the last four. */
export function addressText(buf: Uint8Array, at: number, isV6: boolean): string {
  return isV6 ? ipv6Text(buf, at) : ipv4Text(buf, at + 12);
}

/** Writes address text back into 16 bytes; the inverse of addressText. */
export function writeAddress(buf: Uint8Array, at: number, text: string, isV6: boolean): void {
  buf.fill(0, at, at + 16);
  if (!isV6) {
    const parts = text.split('.');
    for (let i = 0; i < 4; i++) buf[at + 12 + i] = Number(parts[i]) & 0xff;
    return;
  }
  let head = text;
  let tail = '';
  const gap = text.indexOf('::');
  if (gap >= 0) {
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const expand = (groups: string[]): number[] =>
    groups.flatMap((g) => {
      if (!g.includes('.')) return [parseInt(g, 16) & 0xffff];
      const b = g.split('.').map(Number);
      return [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    });
  const h = expand(headGroups);
  const t = expand(tailGroups);
  const all = [...h, ...new Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
  for (let i = 0; i < 8; i++) {
    buf[at + 2 * i] = all[i] >> 8;
    buf[at + 2 * i + 1] = all[i] & 0xff;
  }
}

function commText(buf: Uint8Array, at: number): string {
  let end = at;
  while (end < at + COMM_SIZE && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + at, end - at).toString('latin1');
}

/** Key words of a connection slot (DecodeCache.keys): uni_id's three parts and conn.meta. */
const KEY_PRANDOM = 0;
const KEY_SK0 = 1;
const KEY_SK1 = 2;
const KEY_KTIME = 3;
const KEY_META = 4;
const KEY_WORDS = 5;

/** uni_id's bytes as big-endian words, for hex128 to spell in byte order. */
const idWords = new Uint32Array(4);

/**
 * What decoding a stream of records can reuse: the strings that every record
 * of one connection (uni_id, addresses) or of one program (comm) shares, made
 * once instead of per record. Direct-mapped slots (a connection by its random
 * salt, an address or comm by its bytes): a lookup is an array index, a miss
 * just takes the slot, and memory stays fixed however many connections come
 * and go (a Map of every connection seen grew to its limit and kept its
 * entries alive through every young-generation collection). A connection's
 * key words lie side by side in one Int32Array and its strings in columns,
 * so that a lookup, made for every record, touches no object of its own, and
 * a new connection makes its id text and nothing else.
 */
export class DecodeCache {
  private readonly mask: number;
  /** KEY_WORDS words per connection slot; a slot is empty while its connId is undefined */
  private readonly keys: Int32Array;
  private readonly connIds: Array<string | undefined>;
  private readonly saddrs: string[];
  private readonly daddrs: string[];
  private readonly ipv4: TextTable;
  private readonly ipv6: TextTable;
  private readonly comms: TextTable;
  /** the record connection() last looked up (its batch by serial: no batch kept alive here), and its slot */
  private lastBatch = -1;
  private lastAt = -1;
  private lastSlot = 0;

  /** `slots`: a power of two */
  constructor(slots = 4096) {
    this.mask = slots - 1;
    this.keys = new Int32Array(slots * KEY_WORDS);
    this.connIds = new Array(slots).fill(undefined);
    this.saddrs = new Array(slots).fill('');
    this.daddrs = new Array(slots).fill('');
    this.ipv4 = new TextTable(slots, (buf, at) => ipv4Text(buf, at + 12));
    this.ipv6 = new TextTable(slots, ipv6Text);
    this.comms = new TextTable(slots, commText);
  }

  /**
   * The slot holding the strings of the connection of the record at `at` of
   * `batch` (connId, saddr, daddr), filled first if another connection held it: valid
   * until the next call. Words are read signed: compares stay small integers,
   * never boxed numbers.
   */
  connection(batch: RecordBatch, at: number): number {
    // a message reads connId, saddr and daddr of one record in a row
    if (at === this.lastAt && batch.serial === this.lastBatch) return this.lastSlot;
    const dv = batch.dv;
    const prandom = dv.getInt32(at + PRANDOM, true);
    const sk0 = dv.getInt32(at + SK, true);
    const sk1 = dv.getInt32(at + SK + 4, true);
    const ktime = dv.getInt32(at + KTIME, true);
    const meta = dv.getInt32(at + CONN_META, true);
    const slot = prandom & this.mask;
    const k = slot * KEY_WORDS;
    const keys = this.keys;
    const known =
      keys[k + KEY_PRANDOM] === prandom &&
      keys[k + KEY_SK0] === sk0 &&
      keys[k + KEY_SK1] === sk1 &&
      keys[k + KEY_KTIME] === ktime &&
      keys[k + KEY_META] === meta &&
      this.connIds[slot] !== undefined;
    if (!known) this.fill(slot, batch.bytes, dv, at);
    this.lastBatch = batch.serial;
    this.lastAt = at;
    this.lastSlot = slot;
    return slot;
  }

  /** Takes `slot` for the connection of the record at `at`. */
  private fill(slot: number, buf: Uint8Array, dv: DataView, at: number): void {
    const k = slot * KEY_WORDS;
    const keys = this.keys;
    const meta = dv.getInt32(at + CONN_META, true);
    keys[k + KEY_PRANDOM] = dv.getInt32(at + PRANDOM, true);
    keys[k + KEY_SK0] = dv.getInt32(at + SK, true);
    keys[k + KEY_SK1] = dv.getInt32(at + SK + 4, true);
    keys[k + KEY_KTIME] = dv.getInt32(at + KTIME, true);
    keys[k + KEY_META] = meta;
    // uni_id's 16 bytes as hex, spelled in one go: Buffer#toString('hex') costs twice as much
    for (let i = 0; i < 4; i++) idWords[i] = dv.getUint32(at + CONN_ID + 4 * i, false);
    this.connIds[slot] = hex128(idWords, 0);
    const addresses = (meta & ConnMeta.IPV6) !== 0 ? this.ipv6 : this.ipv4;
    this.saddrs[slot] = addresses.text(buf, dv, at + SADDR);
    this.daddrs[slot] = addresses.text(buf, dv, at + DADDR);
  }

  /** The strings of the connection in `slot`, as connection() returned it. */
  connId(slot: number): string {
    return this.connIds[slot]!;
  }
  saddr(slot: number): string {
    return this.saddrs[slot];
  }
  daddr(slot: number): string {
    return this.daddrs[slot];
  }

  /** The comm of the record at `at`: a name's text is shared by every thread of that name (a thread-per-request server makes a thread per request). */
  comm(buf: Uint8Array, dv: DataView, at: number): string {
    return this.comms.text(buf, dv, at + COMM);
  }
}

/**
 * Texts spelled from 16 bytes (an address, a comm), by those bytes,
 * direct-mapped (the last seen in each slot): a host talks to few addresses
 * and runs few programs over many connections and threads, and each text is
 * made once and shared (span_builder keeps addresses through linking and
 * tail sampling).
 */
class TextTable {
  private readonly mask: number;
  /** the four words of the 16 bytes per slot; a slot is empty while its text is undefined */
  private readonly keys: Int32Array;
  private readonly texts: Array<string | undefined>;

  /** `slots`: a power of two; `spell` makes the text of the 16 bytes at `at` */
  constructor(
    slots: number,
    private readonly spell: (buf: Uint8Array, at: number) => string,
  ) {
    this.mask = slots - 1;
    this.keys = new Int32Array(slots * 4);
    this.texts = new Array(slots).fill(undefined);
  }

  /** The text of the 16 bytes at `at`. */
  text(buf: Uint8Array, dv: DataView, at: number): string {
    const w0 = dv.getInt32(at, true);
    const w1 = dv.getInt32(at + 4, true);
    const w2 = dv.getInt32(at + 8, true);
    const w3 = dv.getInt32(at + 12, true);
    // the words' products are independent: one finaliser after them, not one per word
    const slot = fmix32(w0 ^ Math.imul(w1, 3) ^ Math.imul(w2, 5) ^ Math.imul(w3, 7)) & this.mask;
    const k = slot * 4;
    const keys = this.keys;
    const known = this.texts[slot];
    if (known !== undefined && keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) return known;
    const text = this.spell(buf, at);
    keys[k] = w0;
    keys[k + 1] = w1;
    keys[k + 2] = w2;
    keys[k + 3] = w3;
    this.texts[slot] = text;
    return text;
  }
}

/** What the records read in place from one batch share. */
export interface RecordBatch {
  buf: Buffer;
  /** a view of `buf` */
  dv: DataView;
  /** `buf`'s ArrayBuffer and where `buf` starts in it, read once: a Buffer's own getters cost a third of making a payload view */
  arrayBuffer: ArrayBuffer;
  byteOffset: number;
  /** `buf`'s bytes as a plain Uint8Array, which parsers read payloads from in place (payloadIn) */
  bytes: Uint8Array;
  host: HostInfo;
  cache: DecodeCache;
  /** which batch this is, in the order made: tells batches apart without keeping one */
  serial: number;
}

let batchesMade = 0;

/** The batch that records read in place from `buf` share. */
export function recordBatch(buf: Buffer, host: HostInfo, cache: DecodeCache): RecordBatch {
  const arrayBuffer = buf.buffer as ArrayBuffer;
  const { byteOffset, byteLength } = buf;
  return { buf, dv: new DataView(arrayBuffer, byteOffset, byteLength), arrayBuffer, byteOffset, bytes: new Uint8Array(arrayBuffer, byteOffset, byteLength), host, cache, serial: batchesMade++ };
}

/**
 * A record read in place from a batch of probe bytes: each field is read from
 * the bytes when asked, the connection's strings come from the batch's cache
 * once, and the payload view is made once. Most records of a busy host are
 * never looked at closely (filtered by process, port or protocol, or dropped
 * unparsed), and this costs a fraction of decoding every field up front.
 * The caller has checked the record with recordError. Its fields are getters
 * on the prototype: copy one with copyRecord, not with a spread.
 */
export class RecordView implements NetworkRecord {
  private view: Uint8Array | undefined = undefined;

  constructor(
    private readonly batch: RecordBatch,
    private readonly at: number,
  ) {}

  private u32(off: number): number {
    return this.batch.dv.getUint32(this.at + off, true);
  }

  /** The cache slot of the record's connection strings: looked up for each field asked (a few loads), not kept in the view. */
  private connection(): number {
    return this.batch.cache.connection(this.batch, this.at);
  }

  get ts(): number {
    return this.u32(TS) + this.u32(TS + 4) * 4294967296;
  }
  get tsTail(): number {
    return this.u32(TS_TAIL) + this.u32(TS_TAIL + 4) * 4294967296;
  }
  get tid(): number {
    return this.u32(TID);
  }
  get utid(): number {
    return this.u32(UTID);
  }
  get comm(): string {
    const b = this.batch;
    return b.cache.comm(b.bytes, b.dv, this.at);
  }
  get connId(): string {
    return this.batch.cache.connId(this.connection());
  }
  get saddr(): string {
    return this.batch.cache.saddr(this.connection());
  }
  get daddr(): string {
    return this.batch.cache.daddr(this.connection());
  }
  get sport(): number {
    return this.batch.dv.getUint16(this.at + SPORT, true);
  }
  get dport(): number {
    return this.batch.dv.getUint16(this.at + DPORT, true);
  }
  get pid(): number {
    return this.u32(PID);
  }
  get netns(): number {
    return this.u32(NETNS);
  }
  get connMeta(): number {
    return this.u32(CONN_META);
  }
  get tcpSeq(): number {
    return this.u32(TCP_SEQ);
  }
  get funcId(): number {
    return this.batch.dv.getUint16(this.at + FUNC_ID, true);
  }
  get fd(): number {
    return this.batch.dv.getInt32(this.at + FD, true);
  }
  get bufLen(): number {
    return this.batch.dv.getInt32(this.at + BUF_LEN, true);
  }
  get actSize(): number {
    return this.batch.dv.getInt32(this.at + ACT_SIZE, true);
  }
  get index(): number {
    return this.u32(INDEX);
  }
  get loopTick(): number {
    return this.batch.dv.getUint16(this.at + LOOP_TICK, true);
  }
  get payload(): Uint8Array {
    // a plain Uint8Array over the batch's ArrayBuffer: a third of the cost of Buffer#subarray, whose
    // species lookup and FastBuffer constructor run per record (and slice() of it copies, as a copy should)
    const b = this.batch;
    return (this.view ??= new Uint8Array(b.arrayBuffer, b.byteOffset + this.at + META_SIZE, this.actSize));
  }
  get host(): HostInfo {
    return this.batch.host;
  }
  /** Where the payload lies in the batch's bytes, without a view made for it: see payloadIn. */
  placePayload(place: PayloadPlace): PayloadPlace {
    place.bytes = this.batch.bytes;
    place.start = this.at + META_SIZE;
    place.end = place.start + this.actSize;
    return place;
  }
  /** The record's network_data bytes (meta, then the captured payload) where they lie in the batch: a view. */
  get bytes(): Uint8Array {
    return this.batch.buf.subarray(this.at, this.at + META_SIZE + this.actSize);
  }
}

/** Where a record's payload lies: bytes[start, end). */
export interface PayloadPlace {
  bytes: Uint8Array;
  start: number;
  end: number;
}

/** The one PayloadPlace payloadIn returns, rewritten by each call. */
const place: PayloadPlace = { bytes: new Uint8Array(0), start: 0, end: 0 };

/**
 * Where a record's payload lies, valid until the next call (read it at once):
 * a record read in place gives its batch's bytes and its offsets there, so
 * that a parser reading every record makes no view per record (~96 bytes
 * each); any other record gives its own payload.
 */
export function payloadIn(r: NetworkRecord): PayloadPlace {
  if (r instanceof RecordView) return r.placePayload(place);
  place.bytes = r.payload;
  place.start = 0;
  place.end = r.payload.length;
  return place;
}

/** Why the `length` bytes at `at` cannot be a record, or undefined when they can. */
export function recordError(dv: DataView, at: number, length: number): string | undefined {
  if (length < META_SIZE) return `record of ${length} bytes is shorter than the ${META_SIZE}-byte header`;
  const actSize = dv.getInt32(at + ACT_SIZE, true);
  if (actSize < 0 || actSize > length - META_SIZE) {
    return `act_size ${actSize} does not fit the ${length - META_SIZE} payload bytes present`;
  }
  return undefined;
}

/** A plain-object copy of a record (whatever its class), with `payload` in place of its own. */
export function copyRecord(r: NetworkRecord, payload: Uint8Array = r.payload): NetworkRecord {
  const copy: NetworkRecord = {
    ts: r.ts,
    tsTail: r.tsTail,
    tid: r.tid,
    utid: r.utid,
    pid: r.pid,
    comm: r.comm,
    connId: r.connId,
    saddr: r.saddr,
    sport: r.sport,
    daddr: r.daddr,
    dport: r.dport,
    netns: r.netns,
    connMeta: r.connMeta,
    tcpSeq: r.tcpSeq,
    funcId: r.funcId,
    fd: r.fd,
    bufLen: r.bufLen,
    actSize: r.actSize,
    index: r.index,
    payload,
    host: r.host,
  };
  // absent unless known, as in records made without a probe
  if (r.loopTick) copy.loopTick = r.loopTick;
  return copy;
}

/** Bytes a record takes when encoded. */
export function encodedSize(r: NetworkRecord): number {
  return META_SIZE + r.payload.length;
}

/** Encodes a record into `buf` at `at` (encodedSize(r) bytes); the inverse of reading it with RecordView. */
export function encodeRecord(r: NetworkRecord, buf: Buffer, at: number): number {
  buf.fill(0, at, at + META_SIZE);
  buf.writeBigUInt64LE(BigInt(r.ts), at + TS);
  buf.writeBigUInt64LE(BigInt(r.tsTail), at + TS_TAIL);
  buf.writeUInt32LE(r.tid >>> 0, at + TID);
  buf.writeUInt32LE(r.utid >>> 0, at + UTID);
  buf.write(r.comm.slice(0, COMM_SIZE), at + COMM, 'latin1');
  buf.write(r.connId.slice(0, 2 * CONN_ID_SIZE), at + CONN_ID, 'hex');
  const isV6 = (r.connMeta & ConnMeta.IPV6) !== 0;
  writeAddress(buf, at + SADDR, r.saddr, isV6);
  writeAddress(buf, at + DADDR, r.daddr, isV6);
  buf.writeUInt16LE(r.sport, at + SPORT);
  buf.writeUInt16LE(r.dport, at + DPORT);
  buf.writeUInt32LE(r.pid >>> 0, at + PID);
  buf.writeUInt32LE(r.netns >>> 0, at + NETNS);
  buf.writeUInt32LE(r.connMeta >>> 0, at + CONN_META);
  buf.writeUInt32LE(r.tcpSeq >>> 0, at + TCP_SEQ);
  buf.writeUInt16LE(r.funcId, at + FUNC_ID);
  buf.writeInt32LE(r.fd, at + FD);
  buf.writeInt32LE(r.bufLen, at + BUF_LEN);
  buf.writeInt32LE(r.payload.length, at + ACT_SIZE);
  buf.writeUInt32LE(r.index >>> 0, at + INDEX);
  buf.writeUInt16LE(r.loopTick ?? 0, at + LOOP_TICK);
  buf.set(r.payload, at + META_SIZE);
  return META_SIZE + r.payload.length;
}
