/**
 * Stream assembly for one direction of one connection: records arrive in
 * order, their bytes go to the protocol session one framing unit at a time.
 * Handles a message split over several reads (the unfinished head is kept,
 * bounded), several messages in one read, and bytes that were moved but not
 * captured (`act_size < buf_len`, or a gap the pcap receiver reports the same
 * way): those are discarded by the protocol's own framing when they fall in a
 * body; when they fall where framing is needed the stream is marked out of
 * step, counted, and waits for a record that starts a message.
 *
 * Records the probe could not hand over (its buffer full) leave a gap in
 * `tcp_seq` (and, from probes that spend the record's index anyway, in
 * `index`): the bytes between the sequence number the last record reached
 * and the next record's are lost the same way.
 *
 * A stream joined mid-stream (the connection's start was not seen) starts
 * where the session's canStart says a message can start: bytes before that
 * belong to a message whose start was not seen and are skipped, counted.
 */
import { ConnMeta, isIngress, payloadIn } from '../../core/records/network-data';
import type { NetworkRecord } from '../../core/signals';
import type { PairingGate } from './alignment';
import { Dir, INVALID, NEED_MORE, type ProtocolSession, type Step } from './decoder';

export interface StreamCounters {
  /** framing lost (uncaptured bytes where a header was, or bytes that do not parse) */
  desync(reason: 'gap' | 'invalid' | 'oversize'): void;
  /** bytes dropped while waiting for a message start */
  droppedBytes(n: number): void;
  /** a record (or its head) dropped because the stream was joined inside a message */
  midstreamSkipped(): void;
}

/** Where a record's bytes begin among the pending ones; a stream keeps these objects and rewrites them. */
interface Segment {
  /** offset of this record's first byte in the pending buffer */
  off: number;
  /** null while the segment is unused */
  rec: NetworkRecord | null;
  /** sequence number of the byte at `off` */
  seq: number;
}

/** A message start split over reads is waited for while it is shorter than this; longer bytes can tell whether they start one. */
const MAX_SPLIT_START = 16;

/** Joins are copied here while they fit: what a session keeps of the bytes it decodes, it copies. */
const JOIN_SCRATCH_SIZE = 16384;
const joinScratch = new Uint8Array(JOIN_SCRATCH_SIZE);

/** The held bytes head[0, headLength) followed by data[from, end), at the start of the scratch buffer (valid until the next join) or of a buffer of their own. */
function joined(head: Uint8Array, headLength: number, data: Uint8Array, from: number, end: number): Uint8Array {
  const n = headLength + end - from;
  const buf = n <= JOIN_SCRATCH_SIZE ? joinScratch : new Uint8Array(n);
  copyBytes(buf, 0, head, 0, headLength);
  copyBytes(buf, headLength, data, from, end);
  return buf;
}

/** Up to this many bytes are copied by a loop; more by Node's copy, which takes a range of any Uint8Array (TypedArray#set needs a view made of it, a Buffer for a record's batch bytes). */
const COPIED_BY_LOOP = 16;
const bufferCopy = Buffer.prototype.copy as unknown as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;

function copyBytes(to: Uint8Array, at: number, from: Uint8Array, start: number, end: number): void {
  if (end - start > COPIED_BY_LOOP) {
    bufferCopy.call(from, to, at, start, end);
    return;
  }
  for (let i = start; i < end; i++) to[at++] = from[i];
}

/** A stream's pending buffer is kept for its next connection while no longer than this. */
const KEPT_PENDING_BUFFER = 256;
const NO_BYTES = new Uint8Array(0);

/** What a stream kept for a later connection decodes for until it is begun again: nothing (it is fed nothing). */
const NO_SESSION: ProtocolSession = {
  decode: () => INVALID,
  canStart: () => false,
  complete: () => {},
  reset: () => {},
  close: () => {},
};

/**
 * Every field but `dir` is set by begin(): a stream is begun for each
 * connection (and protocol) it carries, and kept with its connection for the
 * next one, so a connection makes no streams of its own.
 */
export class DirectionStream {
  private session!: ProtocolSession;
  private maxPending!: number;
  private counters!: StreamCounters;
  /** bytes of an unfinished unit, copied out of their records: pendingBytes[0, pendingLength), none while 0 (the buffer is kept for the next) */
  private pendingBytes: Uint8Array = NO_BYTES;
  private pendingLength!: number;
  /** the records those bytes came from: segments[0, segmentCount) while bytes are pending (objects kept and rewritten) */
  private readonly segments: Segment[] = [];
  private segmentCount!: number;
  private skip!: number;
  private outOfStep!: boolean;
  /** joined mid-stream and no message start found yet: what is dropped is counted as midstream_skipped */
  private joinedInside!: boolean;
  /** the next bytes must be able to start a message (they may arrive split): joined mid-stream, or a short record while out of step */
  private tentative!: boolean;
  /** the tentative bytes came while out of step: if they start nothing, the stream stays as it was */
  private tentativeResync!: boolean;
  private seenBytes!: boolean;
  /** the open message: the record that carried its first byte (null when none is open), that byte's sequence number, and what was parsed of it */
  private currentStart!: NetworkRecord | null;
  private currentStartSeq!: number;
  private currentValue: unknown;
  private currentEnds!: boolean;
  /** the last record that carried bytes of this direction */
  lastRecord: NetworkRecord | undefined;
  /** the sequence number the next record should start at, once a record moved bytes (as an int32: a small integer, never a boxed number) */
  private nextSeq: number | undefined;
  /** set by the engine for sessions that answer in order: decides what is handed over for pairing */
  gate: PairingGate | undefined;

  constructor(private readonly dir: Dir) {
    this.end();
  }

  /** Starts an ended stream (a new one, or one end() let go) for `session`. */
  begin(session: ProtocolSession, maxPending: number, counters: StreamCounters): void {
    this.session = session;
    this.maxPending = maxPending;
    this.counters = counters;
  }

  /** Lets go of its session, records and bytes (its connection is kept for a later one, which must not keep them alive). */
  end(): void {
    this.session = NO_SESSION;
    this.dropPending();
    for (const s of this.segments) s.rec = null;
    if (this.pendingBytes.length > KEPT_PENDING_BUFFER) this.pendingBytes = NO_BYTES;
    this.skip = 0;
    this.outOfStep = false;
    this.joinedInside = false;
    this.tentative = false;
    this.tentativeResync = false;
    this.seenBytes = false;
    this.currentStart = null;
    this.currentStartSeq = 0;
    this.currentValue = undefined;
    this.currentEnds = false;
    this.lastRecord = undefined;
    this.nextSeq = undefined;
    this.gate = undefined;
  }

  /**
   * The connection's start was not seen: the next bytes of this direction may
   * be inside a message; `skippedBytes` when some were already passed over.
   */
  joinMidstream(skippedBytes: boolean): void {
    if (!skippedBytes) {
      this.tentative = true;
      return;
    }
    this.seenBytes = true;
    this.outOfStep = true;
    this.joinedInside = true;
  }

  /** Nothing of a message is open, held or unframed: the next byte starts a message (or none was seen yet). */
  get atRest(): boolean {
    return this.currentStart === null && this.pendingLength === 0 && this.skip === 0 && (!this.outOfStep || !this.seenBytes);
  }

  /** A message has begun and not ended, or the first bytes of one are held. */
  get inMessage(): boolean {
    return this.currentStart !== null || this.pendingLength > 0;
  }

  /** A record moved bytes: from the next on, records lost before it show as a gap in the sequence numbers. */
  get sequenced(): boolean {
    return this.nextSeq !== undefined;
  }

  /** A record of this direction came: the calls that carry it are traced. */
  get started(): boolean {
    return this.lastRecord !== undefined;
  }

  /** Out of step after bytes it lost, not joined mid-message: the next byte is at a record's start. */
  get outOfStepAfterLoss(): boolean {
    return this.outOfStep && !this.joinedInside;
  }

  /** Feeds one data record (read/write family). */
  feed(rec: NetworkRecord): void {
    // Only calls that moved bytes (an end of file's sequence number counts the FIN). TLS plaintext
    // records carry the sequence numbers of their TLS records, which count other bytes. A read that
    // also took the FIN came numbered one past from older probes (copied_seq counts the FIN), as in
    // captures recorded with them: one byte short of a read is not taken for a lost record.
    if (rec.bufLen > 0 && !(rec.connMeta & ConnMeta.TLS)) {
      const unseen = this.nextSeq === undefined ? 0 : (rec.tcpSeq - this.nextSeq) | 0;
      if (unseen > 1 || (unseen === 1 && !isIngress(rec.funcId))) {
        this.lose(this.lastRecord!, unseen);
        if (this.dir === Dir.REQUEST) this.gate?.requestRecordsLost();
      }
      this.nextSeq = (rec.tcpSeq + rec.bufLen) | 0;
    }
    if (this.lastRecord === undefined && this.dir === Dir.RESPONSE) this.gate?.responsesBegin();
    this.lastRecord = rec;
    this.seenBytes = true;
    // read in place from the record's batch where it has one: no view per record
    const { bytes: data, start: origin, end } = payloadIn(rec);
    let at = origin;
    if (this.skip > 0 && at < end) {
      const n = Math.min(this.skip, end - at);
      this.skip -= n;
      at += n;
      if (this.skip === 0 && this.currentEnds) this.finish(rec, false);
    }
    if (this.outOfStep && at < end) {
      if (this.session.canStart(this.dir, data, at, end)) {
        this.outOfStep = false;
        this.joinedInside = false;
      } else if (end - at < MAX_SPLIT_START && this.session.decode(this.dir, data, at, end) === NEED_MORE) {
        // maybe the first bytes of a start line split over reads: decodeAll keeps them and judges the joined bytes
        this.outOfStep = false;
        this.tentative = this.tentativeResync = true;
      } else {
        // the decode just tried may have left state behind for bytes now passed over
        this.session.reset(this.dir);
        this.passOver(end - at);
        at = end;
      }
    }
    if (at < end && !this.outOfStep) this.decodeAll(rec, data, origin, at, end);
    const missing = rec.bufLen - rec.actSize;
    if (missing > 0) this.lose(rec, missing);
  }

  /** Bytes of this direction were moved but not seen. */
  private lose(rec: NetworkRecord, missing: number): void {
    if (this.skip >= missing) {
      this.skip -= missing;
      if (this.skip === 0 && this.currentEnds) this.finish(rec, false);
      return;
    }
    if (this.outOfStep) {
      // unseen bytes where no message is framed: whole messages may be among them (a request
      // whose response would then be paired with an older one, responses of requests waiting)
      this.session.reset(this.dir);
      if (this.dir === Dir.RESPONSE) this.gate?.responseSkipped();
      return;
    }
    if (this.tentative && this.pendingLength === 0) {
      this.startNotFound();
      return;
    }
    // The lost bytes reach past the current body into framing we cannot see.
    this.skip = 0;
    this.tentative = this.tentativeResync = false;
    if (this.pendingLength > 0 && this.session.decodePartial) {
      const value = this.session.decodePartial(this.dir, this.pendingBytes, 0, this.pendingLength);
      if (value !== undefined) {
        if (this.currentStart) this.finish(rec, false);
        const s = this.segments[0];
        this.open(value, s.rec!, s.seq);
      }
    }
    this.dropPending();
    const inMessage = this.currentStart !== null;
    if (inMessage) this.finish(rec, true);
    this.session.reset(this.dir);
    this.outOfStep = true;
    this.gate?.lost(this.dir, inMessage);
    this.counters.desync('gap');
  }

  /** Decodes data[from, end), bytes of `rec` whose payload starts at data[origin]. */
  private decodeAll(rec: NetworkRecord, data: Uint8Array, origin: number, from: number, end: number): void {
    let buf = data;
    let at = from;
    // when buf joins held bytes: the segments of buf (the held bytes' and then `rec`'s), else 0
    let segs = 0;
    // where `rec`'s first payload byte (sequence number rec.tcpSeq) is in buf: before its start when buf joins held bytes
    let base = origin;
    const dataEnd = end;
    const held = this.pendingLength;
    if (held > 0) {
      buf = joined(this.pendingBytes, held, data, from, end);
      segs = this.segmentCount + 1;
      this.setSegment(segs - 1, held, rec, (rec.tcpSeq + from - origin) >>> 0);
      base = held - (from - origin);
      at = 0;
      end = held + end - from;
      this.dropPending();
    }
    while (at < end) {
      if (this.tentative && !this.session.canStart(this.dir, buf, at, end)) {
        // a start may arrive a few bytes at a time: keep what may still be one
        if (end - at < MAX_SPLIT_START && this.session.decode(this.dir, buf, at, end) === NEED_MORE) {
          this.keep(buf, at, end, segs, rec, base);
          return;
        }
        // the bytes held were no start after all; this record's own may be one
        const alone = segs > 0 && this.session.canStart(this.dir, data, from, dataEnd);
        this.startNotFound();
        if (alone) {
          this.outOfStep = this.joinedInside = false;
          this.decodeAll(rec, data, origin, from, dataEnd);
        }
        return;
      }
      this.tentative = this.tentativeResync = false;
      this.joinedInside = false;
      if (this.gate && this.dir === Dir.REQUEST && this.currentStart === null) this.gate.requestMayBegin();
      const r = this.session.decode(this.dir, buf, at, end);
      if (r === NEED_MORE) {
        if (end - at > this.maxPending) {
          this.counters.desync('oversize');
          this.loseStep(rec);
          return;
        }
        this.keep(buf, at, end, segs, rec, base);
        return;
      }
      if (r === INVALID) {
        this.counters.desync('invalid');
        this.loseStep(rec);
        return;
      }
      const s = r as Step;
      if (s.begins) {
        // A unit that begins a message while one is open: the open one ended without saying so.
        if (this.currentStart) this.finish(rec, false);
        this.openAt(s.value, at, segs, rec, base);
      }
      at += s.len;
      const inBuf = Math.min(s.skip, end - at);
      at += inBuf;
      this.skip = s.skip - inBuf;
      if (s.ends) {
        if (this.skip === 0) this.finish(rec, false);
        else this.currentEnds = true;
      }
    }
  }

  /** Keeps the unfinished bytes buf[at, end) for the next record (`rec`'s first payload byte at buf[base] when no `segs`). */
  private keep(buf: Uint8Array, at: number, end: number, segs: number, rec: NetworkRecord, base: number): void {
    const n = end - at;
    if (this.pendingBytes.length < n) this.pendingBytes = new Uint8Array(Math.max(n, 2 * this.pendingBytes.length, 64));
    copyBytes(this.pendingBytes, 0, buf, at, end);
    this.pendingLength = n;
    if (segs === 0) {
      this.setSegment(0, 0, rec, (rec.tcpSeq + at - base) >>> 0);
      this.segmentCount = 1;
      return;
    }
    // the segments that reach past `at`, moved to the front in place (each is read before any at or after it is written)
    const segments = this.segments;
    let kept = 0;
    for (let i = 0; i < segs; i++) {
      const s = segments[i];
      const segEnd = i + 1 < segs ? segments[i + 1].off : end;
      if (segEnd <= at) continue;
      if (s.off >= at) this.setSegment(kept++, s.off - at, s.rec!, s.seq);
      else this.setSegment(kept++, 0, s.rec!, (s.seq + (at - s.off)) >>> 0);
    }
    for (let i = kept; i < segs; i++) segments[i].rec = null;
    this.segmentCount = kept;
  }

  private setSegment(i: number, off: number, rec: NetworkRecord, seq: number): void {
    const s = this.segments[i];
    if (s === undefined) {
      this.segments.push({ off, rec, seq });
      return;
    }
    s.off = off;
    s.rec = rec;
    s.seq = seq;
  }

  /** Forgets the pending bytes (their segments' records stay until rewritten, or until end()). */
  private dropPending(): void {
    this.pendingLength = 0;
    this.segmentCount = 0;
  }

  /** Opens a message whose first byte is buf[at]: `rec`'s unless the buffer joins held bytes (`segs`). */
  private openAt(value: unknown, at: number, segs: number, rec: NetworkRecord, base: number): void {
    for (let i = segs - 1; i >= 0; i--) {
      const s = this.segments[i];
      if (s.off <= at) {
        this.open(value, s.rec!, (s.seq + (at - s.off)) >>> 0);
        return;
      }
    }
    this.open(value, rec, (rec.tcpSeq + at - base) >>> 0);
  }

  private loseStep(rec: NetworkRecord): void {
    this.dropPending();
    this.skip = 0;
    const inMessage = this.currentStart !== null;
    if (inMessage) this.finish(rec, true);
    this.session.reset(this.dir);
    this.outOfStep = true;
    this.gate?.lost(this.dir, inMessage);
  }

  /** Out of step: a record's bytes that start no message are passed over, counted. */
  private passOver(n: number): void {
    if (this.joinedInside) this.counters.midstreamSkipped();
    else this.counters.droppedBytes(n);
    if (this.dir === Dir.RESPONSE) this.gate?.responseSkipped();
  }

  /** The tentative bytes start no message after all: wait, counted, for a record that does. */
  private startNotFound(): void {
    const resync = this.tentativeResync;
    this.tentative = this.tentativeResync = false;
    this.dropPending();
    this.session.reset(this.dir);
    this.outOfStep = true;
    if (this.dir === Dir.REQUEST) this.gate?.requestDropped();
    if (resync) {
      this.passOver(0);
      return;
    }
    this.counters.midstreamSkipped();
    this.joinedInside = true;
    // request bytes of an unseen start: their response is still owed; response bytes answer a request owed
    if (this.dir === Dir.REQUEST) this.gate?.lost(this.dir, false);
    else this.gate?.responseStartUnseen();
  }

  private open(value: unknown, start: NetworkRecord, startSeq: number): void {
    this.currentValue = value;
    this.currentStart = start;
    this.currentStartSeq = startSeq;
  }

  private finish(rec: NetworkRecord, truncated: boolean): void {
    const start = this.currentStart;
    const value = this.currentValue;
    this.currentStart = null;
    this.currentValue = undefined;
    this.currentEnds = false;
    if (!start || (this.gate && !this.gate.admit(this.dir))) return;
    this.session.complete(this.dir, value, start, this.currentStartSeq, rec, truncated);
  }

  /** The connection closed: a message framed "until close" is complete now; a half-read one is cut short. */
  close(): void {
    if (this.currentStart && this.lastRecord) {
      const untilClose = this.skip === Infinity;
      this.finish(this.lastRecord, !untilClose && !(this.currentEnds && this.skip === 0));
    }
    this.dropPending();
    this.skip = 0;
  }
}
