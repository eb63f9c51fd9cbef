/**
 * Redis on one connection: walks RESP values in each direction token by token
 * (so a reply of any size is framed without being held), names each command
 * (with its subcommand for container commands), tracks the database through
 * SELECT, pairs replies with commands in order (pipelines, MULTI/EXEC), and
 * sets aside pub/sub and RESP3 push messages that answer no command.
 */
import { ALL_ARGUMENTS, REDACTED, redisSecretArguments, type RedisSecretTest } from '../../../core/redaction';
import type { NetworkRecord, RedisFields } from '../../../core/signals';
import { Dir, INVALID, NEED_MORE, step, type ProtocolSession, type StepResult } from '../decoder';
import { makeMessage, RequestQueue, type PendingRequest, type SessionOptions, type SessionSink } from '../session-base';
import {
  CONTAINER_COMMANDS,
  T_ATTRIBUTE,
  T_BLOB_ERROR,
  T_BULK,
  T_ERROR,
  T_PUSH,
  T_SIMPLE,
  isAggregate,
  looksLikeReply,
  looksLikeRequest,
  parseInline,
  parseToken,
  tokenText,
  upperText,
  type Token,
} from './parser';

export interface RedisOptions {
  /** keep command arguments (secret ones as REDACTED, core/redaction) */
  keepArgs: boolean;
  maxArgs: number;
  maxArgLength: number;
}

/**
 * Where one direction is inside the RESP value it is walking: a stack of open
 * aggregates, kept in place. A command, and most replies, open one level: its
 * count is a field, and the arrays for deeper levels (nested replies,
 * attributes) are made at the first that needs them, not per connection.
 */
class Walk {
  /** aggregate levels open */
  depth = 0;
  /** index of the next element at depth 1 */
  index = 0;
  /** a top-level attribute ended: the next top-level token is the value it describes, in the same message */
  described = false;
  // per open level: the elements it has left, and whether it is an attribute (which precedes, and does not count as, a value)
  private outerLeft = 0;
  private outerAttr = false;
  /** the same for the levels inside the outermost (level d at index d - 1) */
  private innerLeft: number[] | undefined;
  private innerAttr: boolean[] | undefined;

  open(count: number, isAttribute: boolean): void {
    const d = this.depth++;
    if (d === 0) {
      this.outerLeft = count;
      this.outerAttr = isAttribute;
      return;
    }
    (this.innerLeft ??= [])[d - 1] = count;
    (this.innerAttr ??= [])[d - 1] = isAttribute;
  }

  /** Marks one element done; returns true when that completed the top-level value. */
  elementDone(): boolean {
    while (this.depth > 0) {
      const d = this.depth - 1;
      if (d === 0) {
        this.index++;
        if (--this.outerLeft > 0) return false;
        this.depth = 0;
        if (!this.outerAttr) return true;
        // the value the attribute describes follows
        this.described = true;
        return false;
      }
      if (--this.innerLeft![d - 1] > 0) return false;
      this.depth = d;
      if (this.innerAttr![d - 1]) return false; // the value the attribute describes follows
    }
    return true;
  }

  reset(): void {
    this.depth = 0;
    this.index = 0;
    this.described = false;
  }
}

interface ReplyValue {
  type: number;
  errorPrefix: string | undefined;
  errorMessage: string | undefined;
  /** first element of a top-level array or push, lower case: tells pub/sub messages apart */
  first: string | undefined;
}

/** The token being decoded, shared by every session: each is done with it before the next is parsed. */
const scratch: Token = { type: 0, len: 0, skip: 0, count: 0, dataStart: 0, dataEnd: 0 };

const PUBSUB_MESSAGES = new Set(['message', 'pmessage', 'smessage']);
const SUBSCRIPTION_REPLIES = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);

export class RedisSession implements ProtocolSession {
  private readonly queue: RequestQueue<RedisFields>;
  private readonly requestWalk = new Walk();
  private readonly responseWalk = new Walk();
  private request: RedisFields | undefined;
  /** which of the current request's arguments are secret; chosen at its first kept argument */
  private secrets: typeof ALL_ARGUMENTS | RedisSecretTest | undefined;
  /** the reply being walked: one object per session, its fields read by complete() before the next reply starts */
  private readonly reply: ReplyValue = { type: 0, errorPrefix: undefined, errorMessage: undefined, first: undefined };
  // set by restart(), as every field a connection changes
  private db!: number;
  private subscribed!: boolean;
  /** a command has begun and not completed */
  private requestOpen!: boolean;
  /** a reply came while none waited and a command was open: that command's reply is gone (its end was lost with records the probe did not hand over) */
  private openRequestAnswered!: boolean;

  constructor(
    private readonly role: 'client' | 'server',
    private readonly sink: SessionSink,
    opts: SessionOptions,
    private readonly redis: RedisOptions,
  ) {
    this.queue = new RequestQueue(opts.maxPendingRequests, this);
    this.restart();
  }

  restart(): void {
    this.queue.clear();
    this.requestWalk.reset();
    this.responseWalk.reset();
    this.request = this.secrets = undefined;
    const reply = this.reply;
    reply.type = 0;
    reply.errorPrefix = reply.errorMessage = reply.first = undefined;
    this.db = 0;
    this.subscribed = this.requestOpen = this.openRequestAnswered = false;
  }

  /** the queue was full: its oldest request is given up on */
  evicted(r: PendingRequest<RedisFields>): void {
    this.sink.count('evicted_request');
    this.sink.emit(makeMessage('redis', this.role, r.fields, r, 'no_response'));
  }

  private walk(dir: Dir): Walk {
    return dir === Dir.REQUEST ? this.requestWalk : this.responseWalk;
  }

  decode(dir: Dir, buf: Uint8Array, at: number, end: number): StepResult {
    const w = this.walk(dir);
    if (dir === Dir.REQUEST && w.depth === 0 && buf[at] !== 42) return this.decodeInline(buf, at, end);
    const t = parseToken(buf, at, end, scratch);
    if (t === NEED_MORE || t === INVALID) return t;
    const top = w.depth === 0;
    // the value an attribute described began with the attribute: they are one message
    const begins = top && !w.described;
    if (top) {
      w.index = 0;
      w.described = false;
      // (after an attribute, the described value's own type and first element are the reply's)
      if (dir === Dir.RESPONSE) this.startReply(buf, t);
      else if (begins) {
        this.request = { command: '', db: this.db };
        this.secrets = undefined;
        this.requestOpen = true;
      }
    } else if (w.depth === 1) {
      this.element(dir, buf, t);
    }
    const value = begins ? (dir === Dir.REQUEST ? this.request : this.reply) : undefined;
    if (isAggregate(t.type) && t.count > 0) {
      w.open(t.count, t.type === T_ATTRIBUTE);
      return step(t.len, t.skip, begins, false, value);
    }
    // A scalar (or empty/null aggregate) completes one element, and maybe the levels around it.
    let ends: boolean;
    if (!top) ends = w.elementDone();
    else if (t.type !== T_ATTRIBUTE) ends = true;
    else {
      ends = false;
      w.described = true; // an empty attribute: the value follows
    }
    return step(t.len, t.skip, begins, ends, value);
  }

  /** A reply's top-level token: what complete() reads of the reply starts here. */
  private startReply(buf: Uint8Array, t: Token): void {
    const reply = this.reply;
    reply.type = t.type;
    reply.errorPrefix = reply.errorMessage = reply.first = undefined;
    if (t.type === T_ERROR || t.type === T_BLOB_ERROR) splitError(tokenText(buf, t), reply);
  }

  /** A token at depth 1: a command word or argument, or the first element of a reply. */
  private element(dir: Dir, buf: Uint8Array, t: Token): void {
    const i = this.walk(dir).index;
    if (dir === Dir.RESPONSE) {
      if (i === 0 && (t.type === T_BULK || t.type === T_SIMPLE) && t.dataEnd - t.dataStart <= 16) {
        this.reply.first = upperText(buf, t.dataStart, t.dataEnd).toLowerCase();
      }
      return;
    }
    const req = this.request;
    if (!req) return;
    const present = t.skip === 0;
    if (i === 0) {
      req.command = present ? upperText(buf, t.dataStart, t.dataEnd) : '?';
      return;
    }
    if (i === 1 && CONTAINER_COMMANDS.has(req.command) && present) {
      req.command += ' ' + upperText(buf, t.dataStart, t.dataEnd);
      return;
    }
    if (req.command === 'SELECT' && i === 1 && present) (req as SelectFields).selectDb = Number(upperText(buf, t.dataStart, t.dataEnd));
    if (this.redis.keepArgs) this.keepArgument(req, buf, t, present);
  }

  /** Keeps one argument of the current request: REDACTED when secret, judged on the whole argument, not the part kept. */
  private keepArgument(req: RedisFields, buf: Uint8Array, t: Token, present: boolean): void {
    if (this.secrets === ALL_ARGUMENTS) return;
    if (!req.args) {
      this.secrets = redisSecretArguments(req.command);
      if (this.secrets === ALL_ARGUMENTS) return;
      req.args = [];
    }
    const secret = this.secrets?.(present ? upperText(buf, t.dataStart, t.dataEnd) : '') ?? false;
    if (req.args.length < this.redis.maxArgs) req.args.push(secret ? REDACTED : present ? tokenText(buf, t, this.redis.maxArgLength) : '');
  }

  private decodeInline(buf: Uint8Array, at: number, end: number): StepResult {
    const l = parseInline(buf, at, end);
    if (l === NEED_MORE || l === INVALID) return l;
    if (l.words.length === 0) return step(l.len, 0, false, false); // blank lines between inline commands
    const words = l.words.map(([s, e]) => ({ type: T_BULK, len: e - s, skip: 0, count: 0, dataStart: s, dataEnd: e }));
    const req: RedisFields = { command: upperText(buf, words[0].dataStart, words[0].dataEnd), db: this.db };
    let first = 1;
    if (CONTAINER_COMMANDS.has(req.command) && words.length > 1) {
      req.command += ' ' + upperText(buf, words[1].dataStart, words[1].dataEnd);
      first = 2;
    }
    if (req.command === 'SELECT' && words.length > 1) (req as SelectFields).selectDb = Number(upperText(buf, words[1].dataStart, words[1].dataEnd));
    if (this.redis.keepArgs) {
      this.secrets = undefined;
      for (let i = first; i < words.length; i++) this.keepArgument(req, buf, words[i], true);
    }
    return step(l.len, 0, true, true, req);
  }

  canStart(dir: Dir, buf: Uint8Array, at: number, end: number): boolean {
    return dir === Dir.REQUEST ? looksLikeRequest(buf, at, end) : looksLikeReply(buf, at, end);
  }

  reset(dir: Dir): void {
    this.walk(dir).reset();
    if (dir === Dir.REQUEST) {
      this.requestOpen = this.openRequestAnswered = false;
      return;
    }
    // the replies of the commands still waiting, and of one still being sent, may be among the bytes lost: none of them can be paired for sure
    this.giveUpWaiting();
    if (this.requestOpen) this.openRequestAnswered = true;
  }

  complete(dir: Dir, value: unknown, start: NetworkRecord, startSeq: number, last: NetworkRecord, truncated: boolean): void {
    if (truncated) this.sink.count('truncated');
    if (dir === Dir.REQUEST) {
      const f = value as SelectFields;
      // Commands pipelined after SELECT run in the new database: switch now, undo if SELECT fails.
      if (f.command === 'SELECT' && f.selectDb !== undefined && Number.isInteger(f.selectDb)) {
        f.previousDb = this.db;
        this.db = f.selectDb;
      }
      this.requestOpen = false;
      if (this.openRequestAnswered) {
        this.openRequestAnswered = false;
        dropSelectState(f);
        this.sink.emit(makeMessage('redis', this.role, f, { start, startSeq, last }, 'no_response'));
        return;
      }
      this.queue.add(f, start, startSeq, last, truncated);
      return;
    }
    const reply = value as ReplyValue;
    const kind = reply.first;
    if (kind && (reply.type === T_PUSH || this.subscribed)) {
      if (PUBSUB_MESSAGES.has(kind) || (reply.type === T_PUSH && kind === 'invalidate')) return;
    }
    if (kind && SUBSCRIPTION_REPLIES.has(kind)) {
      // one confirmation per channel: the first answers the command, the rest answer nothing
      const head = this.queue.peek();
      if (!head || head.fields.command.toLowerCase() !== kind) return;
      this.subscribed = !kind.includes('unsub') || this.subscribed;
    }
    const req = this.queue.takeFor(start);
    if (!req) {
      if (this.requestOpen) this.openRequestAnswered = true;
      this.sink.count('unmatched_response');
      return;
    }
    const fields = req.fields as SelectFields;
    const isError = reply.type === T_ERROR || reply.type === T_BLOB_ERROR;
    if (isError) {
      fields.errorPrefix = reply.errorPrefix;
      fields.errorMessage = reply.errorMessage;
      if (fields.previousDb !== undefined && this.db === fields.selectDb) this.db = fields.previousDb;
    }
    dropSelectState(fields);
    this.sink.emit(makeMessage('redis', this.role, req.fields, req, isError ? 'error' : 'ok', start, startSeq, last));
    this.queue.release(req);
  }

  close(_last: NetworkRecord | undefined): void {
    // a connection usually ends with nothing waiting: no iterator made over an empty queue (close runs once per connection)
    if (this.queue.size > 0) this.giveUpWaiting();
  }

  /** The commands waiting are emitted without a reply. */
  private giveUpWaiting(): void {
    for (const r of this.queue.drain()) {
      dropSelectState(r.fields as SelectFields);
      this.sink.emit(makeMessage('redis', this.role, r.fields, r, 'no_response'));
    }
  }
}

type SelectFields = RedisFields & { selectDb?: number; previousDb?: number };

/** SELECT's bookkeeping leaves the fields before they are emitted; only a SELECT has it (a delete costs a runtime call even when there is nothing to delete). */
function dropSelectState(f: SelectFields): void {
  if (!('selectDb' in f)) return;
  delete f.selectDb;
  delete f.previousDb;
}

function splitError(text: string, into: ReplyValue): void {
  const sp = text.indexOf(' ');
  into.errorPrefix = sp < 0 ? text : text.slice(0, sp);
  into.errorMessage = sp < 0 ? '' : text.slice(sp + 1);
}
