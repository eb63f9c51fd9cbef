/**
 * Pairing that holds back when it cannot be sure. A protocol whose responses
 * answer its requests one for one and in order (`answersInOrder`: HTTP/1.x)
 * pairs them by counting, and the count is only known from the connection's
 * start. When a connection was joined mid-stream (espan started after it
 * opened, a capture cut in the middle, state freed and found again) or one
 * direction lost its framing, requests sent before the first one seen may
 * still wait for their responses: with pipelining, a response seen after
 * request k may answer request k - 1. Until the two directions line up again,
 * completed requests and responses are counted, not handed to the session.
 *
 * They line up at a request that begins while nothing is owed (every request
 * seen since the loss answered by a response seen after it) and the response
 * stream is in line: at rest (no message open, held or unframed), or out of
 * step after bytes it lost while no request waited. A response cannot be sent
 * before its request, so bytes lost before the request began hold none of its
 * response; response bytes skipped while requests wait may hold theirs, which
 * are then given up (no_response). A response that comes (or response bytes
 * lost) while a request is still being sent, none waiting, answers that one
 * (an early answer, or the rest of its head lost): it is not paired with a
 * later response. One end
 * cannot see requests pipelined entirely before the capture began: none are
 * assumed.
 *
 * On a connection joined mid-stream one direction's records may begin later
 * than the other's: the probe attaches its programs one at a time, so at a
 * capture's start a connection's writes may be traced while its reads are not
 * yet (the responses of the first requests seen never show, and nothing
 * counts them). So its directions line up only once the response direction
 * showed a record; at that record, of the requests owed, at most one is taken
 * to be still unanswered, and none when the record is inside a response (a
 * client that waits for each response; wrong only with pipelining across it).
 */
import { Dir, type ProtocolSession } from './decoder';

export interface GateCounters {
  /** a request or response that completed while the directions did not line up */
  unpaired(dir: Dir): void;
}

/** What the gate needs to know of the response stream. */
export interface ResponseStreamState {
  /** nothing of a message open, held or unframed */
  readonly atRest: boolean;
  /** out of step after bytes it lost (not joined mid-message): its next byte is at a record's start */
  readonly outOfStepAfterLoss: boolean;
  /** it saw a record move bytes, so records lost after it will show (as a sequence number gap) */
  readonly sequenced: boolean;
  /** it saw a record: the calls that carry this direction are traced */
  readonly started: boolean;
}

/** Every field but the streams is set by begin(): a gate is kept with its connection for the in-order sessions it carries. */
export class PairingGate {
  private aligned!: boolean;
  private session!: ProtocolSession;
  private counters!: GateCounters;
  /** requests handed to the session and not answered yet: the next responses are theirs */
  private waiting!: number;
  /** requests seen but not handed over (a run of skipped request bytes counts as one) whose responses were not seen */
  private owed!: number;
  /** the response stream lost bytes while requests waited: they may still be answered, so only rest lines it up */
  private lostWhileWaiting!: boolean;
  /** a response came (or response bytes were lost), none waiting, while a request was still being sent: that request's answer is gone */
  private openRequestAnswered!: boolean;
  /** joined mid-stream: the response direction's records may begin after the request direction's */
  private joinedMidstream!: boolean;

  constructor(
    private readonly requests: { readonly inMessage: boolean },
    private readonly responses: ResponseStreamState,
  ) {}

  /** Starts pairing over for `session`: `aligned` when the connection's start was seen. */
  begin(aligned: boolean, session: ProtocolSession, counters: GateCounters): void {
    this.aligned = aligned;
    this.session = session;
    this.counters = counters;
    this.waiting = 0;
    this.owed = 0;
    this.lostWhileWaiting = false;
    this.openRequestAnswered = false;
    this.joinedMidstream = !aligned;
  }

  get isAligned(): boolean {
    return this.aligned;
  }

  /** The request stream is about to decode a unit with no message open: the directions line up here if nothing is owed. */
  requestMayBegin(): void {
    if (this.aligned || this.owed !== 0 || this.waiting !== 0 || (this.joinedMidstream && !this.responses.started)) return;
    if (!this.responses.atRest && (this.lostWhileWaiting || !this.responses.outOfStepAfterLoss)) return;
    this.aligned = true;
    this.lostWhileWaiting = false;
    // what the session kept to frame responses belonged to requests whose responses are all seen
    this.session.reset(Dir.RESPONSE);
  }

  /** A message of `dir` completed: true to hand it to the session, false when it was counted instead. */
  admit(dir: Dir): boolean {
    if (dir === Dir.REQUEST) {
      if (this.openRequestAnswered) {
        this.openRequestAnswered = false;
        this.counters.unpaired(dir);
        return false;
      }
      if (this.aligned) {
        this.waiting++;
        return true;
      }
      this.owed++;
      this.counters.unpaired(dir);
      return false;
    }
    if (this.waiting > 0) {
      this.waiting--;
      return true;
    }
    if (this.owed > 0) this.owed--;
    else if (this.requests.inMessage) this.openRequestAnswered = true;
    // aligned with nothing waiting: the session counts the response as unmatched itself
    if (this.aligned) return true;
    this.counters.unpaired(dir);
    return false;
  }

  /**
   * `dir` lost its framing (or joined mid-message): its bytes until the next
   * message start are unseen. Called once per loss, after the open message
   * was completed and the session reset (which gave up the requests waiting,
   * for the response direction); `inMessage` when the loss began inside that
   * message, which then accounts for the bytes lost.
   */
  lost(dir: Dir, inMessage: boolean): void {
    this.aligned = false;
    if (dir === Dir.REQUEST) {
      this.requestDropped();
      // bytes of a request that was never handed over: its response is owed
      if (!inMessage) this.owed++;
      return;
    }
    this.lostWhileWaiting = this.waiting > 0;
    this.waiting = 0;
    if (this.requests.inMessage) this.openRequestAnswered = true;
    // responses owed before the loss are taken to be among the bytes lost (wrong only with pipelining across it)
    this.owed = 0;
  }

  /**
   * Records of the request direction were lost (the kernel side dropped
   * them): those of the response direction may be lost too, which shows only
   * once the response stream has a sequence number to compare with. Until
   * then it is taken as a loss of response bytes as well.
   */
  requestRecordsLost(): void {
    if (this.responses.sequenced) return;
    this.session.reset(Dir.RESPONSE);
    this.lost(Dir.RESPONSE, false);
  }

  /** The response direction's first record (before its bytes are decoded): the answers of the requests owed but one were sent before its calls were traced. */
  responsesBegin(): void {
    if (this.joinedMidstream && !this.aligned) this.owed = Math.min(this.owed, 1);
  }

  /** The response direction's first bytes were inside a response whose start was not traced: that response answers the request owed. */
  responseStartUnseen(): void {
    if (this.joinedMidstream && !this.aligned && this.owed > 0) this.owed--;
  }

  /** The request stream dropped what it held of a request that never completed: no answer is kept for it. */
  requestDropped(): void {
    this.openRequestAnswered = false;
  }

  /** The response stream, out of step, passed over a record: responses of the requests waiting may be in it. */
  responseSkipped(): void {
    if (this.requests.inMessage) this.openRequestAnswered = true;
    if (this.waiting === 0) return;
    this.session.reset(Dir.RESPONSE);
    this.lost(Dir.RESPONSE, false);
  }
}
