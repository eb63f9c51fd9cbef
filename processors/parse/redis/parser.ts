/**
 * RESP2/RESP3 tokens, as pure functions of bytes. A token is one type-prefixed
 * line (`*3`, `$5`, `+OK`, `-ERR ...`, `:1`, RESP3 `%`, `~`, `>`, `|`, `_`,
 * `#`, `,`, `(`, `=`, `!`), with the data of a blob type when it is all there;
 * a blob too large to wait for is framed by its length and skipped.
 */
import { INVALID, NEED_MORE, findCrlf, latin1, recentLatin1, utf8 } from '../decoder';

export const T_ARRAY = 42; // *
export const T_MAP = 37; // %
export const T_SET = 126; // ~
export const T_PUSH = 62; // >
export const T_ATTRIBUTE = 124; // |
export const T_BULK = 36; // $
export const T_VERBATIM = 61; // =
export const T_BLOB_ERROR = 33; // !
export const T_SIMPLE = 43; // +
export const T_ERROR = 45; // -
export const T_INTEGER = 58; // :
export const T_NULL = 95; // _
export const T_BOOLEAN = 35; // #
export const T_DOUBLE = 44; // ,
export const T_BIGNUM = 40; // (

/** What a type byte begins, looked up by the byte: an aggregate, a blob, a line, or no value (0). */
const AGGREGATE = 1;
const BLOB = 2;
const LINE = 3;
const KIND = new Uint8Array(256);
for (const t of [T_ARRAY, T_MAP, T_SET, T_PUSH, T_ATTRIBUTE]) KIND[t] = AGGREGATE;
for (const t of [T_BULK, T_VERBATIM, T_BLOB_ERROR]) KIND[t] = BLOB;
for (const t of [T_SIMPLE, T_ERROR, T_INTEGER, T_NULL, T_BOOLEAN, T_DOUBLE, T_BIGNUM]) KIND[t] = LINE;

/** Longest line espan waits for before calling the stream out of step. */
export const MAX_LINE = 65536;
/** Blobs at most this long are waited for; longer ones are skipped by length. */
export const MAX_WAITED_BLOB = 4096;

export interface Token {
  type: number;
  /** bytes taken (present) */
  len: number;
  /** blob bytes (with the final CRLF) skipped unseen */
  skip: number;
  /** elements that follow an aggregate (maps and attributes count keys and values); -1 for null */
  count: number;
  /** text of a line type, or blob data when present: offsets into the buffer */
  dataStart: number;
  dataEnd: number;
}

function parseInteger(buf: Uint8Array, s: number, e: number): number | undefined {
  let neg = false;
  if (s < e && buf[s] === 45) {
    neg = true;
    s++;
  }
  if (s >= e || e - s > 15) return undefined;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return neg ? -n : n;
}

function token(into: Token | undefined, type: number, len: number, skip: number, count: number, dataStart: number, dataEnd: number): Token {
  if (!into) return { type, len, skip, count, dataStart, dataEnd };
  into.type = type;
  into.len = len;
  into.skip = skip;
  into.count = count;
  into.dataStart = dataStart;
  into.dataEnd = dataEnd;
  return into;
}

/** Decodes the token at `at`, into `into` when given (a session reuses one: tokens are read before the next is decoded). */
export function parseToken(buf: Uint8Array, at: number, end: number, into?: Token): Token | typeof NEED_MORE | typeof INVALID {
  if (at >= end) return NEED_MORE;
  const type = buf[at];
  const kind = KIND[type];
  if (kind === 0) return INVALID;
  const isAggregate = kind === AGGREGATE;
  const isBlob = kind === BLOB;
  const cr = findCrlf(buf, at + 1, Math.min(end, at + MAX_LINE));
  if (cr < 0) {
    if (end - at >= MAX_LINE) return INVALID;
    // A length line is a few digits: anything else there means we are not in step.
    if (isAggregate || isBlob) {
      for (let i = at + 1; i < end; i++) {
        const c = buf[i];
        if (!((c >= 48 && c <= 57) || c === 45 || (c === 13 && i === end - 1))) return INVALID;
      }
    }
    return NEED_MORE;
  }
  const lineLen = cr + 2 - at;
  if (kind === LINE) {
    if (type === T_NULL && cr !== at + 1) return INVALID;
    if (type === T_INTEGER && parseInteger(buf, at + 1, cr) === undefined) return INVALID;
    return token(into, type, lineLen, 0, 0, at + 1, cr);
  }
  const n = parseInteger(buf, at + 1, cr);
  if (n === undefined || n < -1 || n > 0x7fffffff) return INVALID;
  if (isAggregate) {
    const count = n < 0 ? -1 : type === T_MAP || type === T_ATTRIBUTE ? 2 * n : n;
    return token(into, type, lineLen, 0, count, cr, cr);
  }
  if (n < 0) return token(into, type, lineLen, 0, -1, cr, cr);
  const dataStart = cr + 2;
  const whole = lineLen + n + 2;
  if (at + whole <= end) {
    if (buf[dataStart + n] !== 13 || buf[dataStart + n + 1] !== 10) return INVALID;
    return token(into, type, whole, 0, 0, dataStart, dataStart + n);
  }
  if (n + 2 > MAX_WAITED_BLOB) return token(into, type, lineLen, n + 2, 0, dataStart, dataStart);
  return NEED_MORE;
}

export function isAggregate(type: number): boolean {
  return KIND[type] === AGGREGATE;
}

export function tokenText(buf: Uint8Array, t: Token, max = 256): string {
  const e = Math.min(t.dataEnd, t.dataStart + max);
  return t.type === T_BULK || t.type === T_VERBATIM ? utf8(buf, t.dataStart, e) : latin1(buf, t.dataStart, e);
}

/** Upper-case ASCII of a short token (command names). */
export function upperText(buf: Uint8Array, s: number, e: number): string {
  // most clients send command names in upper case: then the string made last for the same bytes, not one per command
  if (e - s <= 64 && !hasLowerCase(buf, s, e)) return recentLatin1(buf, s, e);
  let out = '';
  for (let i = s; i < e && i < s + 64; i++) {
    const c = buf[i];
    out += String.fromCharCode(c >= 97 && c <= 122 ? c - 32 : c);
  }
  return out;
}

function hasLowerCase(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i] >= 97 && buf[i] <= 122) return true;
  return false;
}

/** Redis commands whose first argument names a subcommand (`CLIENT SETNAME`). */
export const CONTAINER_COMMANDS = new Set([
  'ACL', 'CLIENT', 'CLUSTER', 'COMMAND', 'CONFIG', 'DEBUG', 'FUNCTION', 'LATENCY', 'MEMORY', 'MODULE', 'OBJECT', 'PUBSUB', 'SCRIPT', 'SLOWLOG', 'XGROUP', 'XINFO',
]);

/** An inline command: a line of words. Returns the line length (with its newline) and the words' bounds. */
export function parseInline(buf: Uint8Array, at: number, end: number): { len: number; words: Array<[number, number]> } | typeof NEED_MORE | typeof INVALID {
  const nl = buf.indexOf(10, at);
  if (nl < 0 || nl >= end) {
    if (end - at > MAX_LINE) return INVALID;
    for (let i = at; i < end; i++) if (buf[i] < 9 || (buf[i] > 13 && buf[i] < 32) || buf[i] === 127) return INVALID;
    return NEED_MORE;
  }
  const lineEnd = nl > at && buf[nl - 1] === 13 ? nl - 1 : nl;
  const words: Array<[number, number]> = [];
  let i = at;
  while (i < lineEnd) {
    while (i < lineEnd && (buf[i] === 32 || buf[i] === 9)) i++;
    const s = i;
    while (i < lineEnd && buf[i] !== 32 && buf[i] !== 9) {
      if (buf[i] < 32 || buf[i] === 127) return INVALID;
      i++;
    }
    if (i > s) words.push([s, i]);
  }
  return { len: nl + 1 - at, words };
}

/**
 * Command names of Redis 8 and Valkey 9 (lower case): what tells a command
 * from a reply that is an array of bulk strings (HGETALL, LRANGE, MGET, a
 * pub/sub message), the one thing that says which end of a connection asks.
 */
const COMMAND_NAMES = new Set(
  `
  acl append asking auth bgrewriteaof bgsave bitcount bitfield bitfield_ro bitop bitpos blmove blmpop blpop brpop brpoplpush bzmpop bzpopmax bzpopmin
  client cluster clusterscan command commandlog config copy dbsize debug decr decrby del delex delifeq digest discard dump echo eval eval_ro evalsha
  evalsha_ro exec exists expire expireat expiretime failover fcall fcall_ro flushall flushdb function geoadd geodist geohash geopos georadius
  georadius_ro georadiusbymember georadiusbymember_ro geosearch geosearchstore get getbit getdel getex getrange getset hdel hello hexists hexpire
  hexpireat hexpiretime hget hgetall hgetdel hgetex hincrby hincrbyfloat hkeys hlen hmget hmset hpersist hpexpire hpexpireat hpexpiretime hpttl
  hrandfield hscan hset hsetex hsetnx hstrlen httl hvals incr incrby incrbyfloat info keys lastsave latency lcs lindex linsert llen lmove lmpop lolwut
  lpop lpos lpush lpushx lrange lrem lset ltrim memory mget migrate module monitor move mset msetex msetnx multi object persist pexpire pexpireat
  pexpiretime pfadd pfcount pfdebug pfmerge pfselftest ping psetex psubscribe psync pttl publish pubsub punsubscribe quit randomkey readonly readwrite
  rename renamenx replconf replicaof reset restore restore-asking role rpop rpoplpush rpush rpushx sadd save scan scard script sdiff sdiffstore select
  sentinel set setbit setex setnx setrange shutdown sinter sintercard sinterstore sismember slaveof slowlog smembers smismember smove sort sort_ro spop
  spublish srandmember srem sscan ssubscribe strlen subscribe substr sunion sunionstore sunsubscribe swapdb sync time touch ttl type unlink unsubscribe
  unwatch vadd vcard vdim vemb vgetattr vinfo vismember vlinks vrandmember vrem vsetattr vsim wait waitaof watch xack xackdel xadd xautoclaim xclaim
  xdel xdelex xgroup xinfo xlen xpending xrange xread xreadgroup xrevrange xsetid xtrim zadd zcard zcount zdiff zdiffstore zincrby zinter zintercard
  zinterstore zlexcount zmpop zmscore zpopmax zpopmin zrandmember zrange zrangebylex zrangebyscore zrangestore zrank zrem zremrangebylex zremrangebyrank
  zremrangebyscore zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunion zunionstore
  `.trim().split(/\s+/),
);

/** Modules name their commands `PREFIX.NAME`: RedisJSON, RediSearch / valkey-search, TimeSeries, RedisBloom, RedisGraph, RedisAI, RedisGears. */
const MODULE_PREFIXES = new Set(['json', 'ft', 'ts', 'bf', 'cf', 'cms', 'topk', 'tdigest', 'graph', 'ai', 'rg']);

const LONGEST_COMMAND_NAME = 32;

/** The characters of core command names numbered from 1, letters in either case; 0 for any other byte. */
const NAME_CODES = new Uint8Array(256);
[...'abcdefghijklmnopqrstuvwxyz0123456789_-'].forEach((ch, i) => {
  NAME_CODES[ch.charCodeAt(0)] = NAME_CODES[ch.toUpperCase().charCodeAt(0)] = i + 1;
});
const NAME_BASE = 39;
/** Names this short are one exact number (39^10 < 2^53): looked up without making a string, as detection does for each new connection. */
const KEYED_LENGTH = 10;

/** A name of at most KEYED_LENGTH characters as a number, or -1 when a byte is none of NAME_CODES'. */
function nameKey(buf: Uint8Array, s: number, e: number): number {
  let key = 0;
  for (let i = s; i < e; i++) {
    const code = NAME_CODES[buf[i]];
    if (code === 0) return -1;
    key = key * NAME_BASE + code;
  }
  return key;
}

const KEYED_NAMES = new Set([...COMMAND_NAMES].filter((n) => n.length <= KEYED_LENGTH).map((n) => nameKey(Buffer.from(n, 'latin1'), 0, n.length)));

function lowerText(buf: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) {
    const c = buf[i];
    out += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return out;
}

/** Is buf[s, e) a command name, in any case? */
export function isCommandName(buf: Uint8Array, s: number, e: number): boolean {
  if (e <= s || e - s > LONGEST_COMMAND_NAME) return false;
  if (e - s <= KEYED_LENGTH) {
    const key = nameKey(buf, s, e);
    if (key >= 0) return KEYED_NAMES.has(key);
  }
  const name = lowerText(buf, s, e);
  const dot = name.indexOf('.');
  if (dot < 0) return COMMAND_NAMES.has(name);
  return dot + 1 < name.length && MODULE_PREFIXES.has(name.slice(0, dot));
}

/** The length line lengthLine read last: its number, and where the bytes after it start. */
const line = { value: 0, next: 0 };

/**
 * Reads the length line of `type` at `at` (`*3\r\n`, `$5\r\n`) into `line`:
 * false when there is none (another type, a null, bad framing), NEED_MORE
 * when it is cut short. A few compares: detection runs it for each new connection.
 */
function lengthLine(buf: Uint8Array, at: number, end: number, type: number): boolean | typeof NEED_MORE {
  if (buf[at] !== type) return false;
  let value = 0;
  let i = at + 1;
  for (; i < end && i - at <= 10; i++) {
    const digit = buf[i] - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  if (i >= end || (i === end - 1 && buf[i] === 13)) return NEED_MORE;
  if (i === at + 1 || buf[i] !== 13 || buf[i + 1] !== 10) return false;
  line.value = value;
  line.next = i + 2;
  return true;
}

/** Could the bulk string at `at`, cut short by `end`, be a command name: do its length and the bytes there fit one? */
function mayBeCommandName(buf: Uint8Array, at: number, end: number): boolean {
  if (lengthLine(buf, at, end, T_BULK) !== true || line.next >= end || line.value > LONGEST_COMMAND_NAME) return false;
  const { next: dataStart, value: length } = line;
  const start = lowerText(buf, dataStart, Math.min(end, dataStart + length));
  for (const name of COMMAND_NAMES) if (name.length === length && name.startsWith(start)) return true;
  for (const prefix of MODULE_PREFIXES) if (length > prefix.length + 1 && (start.startsWith(prefix + '.') || (prefix + '.').startsWith(start))) return true;
  return false;
}

/**
 * Does a command start here: an array of bulk strings whose first names a
 * command (as far as its elements are in `buf`), or an inline command (a
 * line whose first word names one)? A reply can be an array of bulk strings
 * too, but its first element names a command only by chance (a hash field
 * called `get`), a pub/sub confirmation ends with an integer.
 */
export function looksLikeRequest(buf: Uint8Array, at: number, end: number): boolean {
  if (at >= end) return false;
  return buf[at] === T_ARRAY ? looksLikeCommandArray(buf, at, end) : looksLikeInlineCommand(buf, at, end);
}

/** First elements of a pub/sub confirmation (`*3`, the kind, the channel, a count) that are also command names. */
const CONFIRMATION_KINDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);
const SHORTEST_KIND = Math.min(...[...CONFIRMATION_KINDS].map((k) => k.length));

/** Is buf[s, e) a confirmation's kind? Measured first: most commands of three elements (GET, SET, HGET, INCRBY) are shorter than any kind. */
function isConfirmationKind(buf: Uint8Array, s: number, e: number): boolean {
  return e - s >= SHORTEST_KIND && CONFIRMATION_KINDS.has(lowerText(buf, s, e));
}

function looksLikeCommandArray(buf: Uint8Array, at: number, end: number): boolean {
  if (lengthLine(buf, at, end, T_ARRAY) !== true || line.value < 1) return false;
  const count = line.value;
  let i = line.next;
  let mayBeConfirmation = false;
  for (let n = 0; n < count; n++) {
    const header = i < end ? lengthLine(buf, i, end, T_BULK) : NEED_MORE;
    if (header === false) return false;
    const dataStart = line.next;
    const dataEnd = dataStart + line.value;
    if (header === NEED_MORE || dataEnd + 2 > end) {
      // cut short (split over short reads, a large argument not all captured): what is there must begin a command, and no confirmation
      return n === 0 ? mayBeCommandName(buf, i, end) : !mayBeConfirmation;
    }
    if (buf[dataEnd] !== 13 || buf[dataEnd + 1] !== 10) return false;
    if (n === 0) {
      if (!isCommandName(buf, dataStart, dataEnd)) return false;
      mayBeConfirmation = count === 3 && isConfirmationKind(buf, dataStart, dataEnd);
    }
    i = dataEnd + 2;
  }
  return true;
}

/** Bytes that begin a RESP value: after an inline line they say it was the text of a reply's value. */
function isRespType(c: number): boolean {
  return KIND[c] !== 0;
}

function looksLikeInlineCommand(buf: Uint8Array, at: number, end: number): boolean {
  let i = at;
  while (i < end && i - at <= LONGEST_COMMAND_NAME && buf[i] > 32 && buf[i] < 127) i++;
  if (i >= end || !(buf[i] === 32 || buf[i] === 13 || buf[i] === 10) || !isCommandName(buf, at, i)) return false;
  const nl = buf.indexOf(10, i);
  // a line of text: a PostgreSQL CommandComplete (`SELECT 2`, then a NUL) also begins with a command's name
  const lineEnd = nl < 0 || nl >= end ? end : nl;
  for (let j = i; j < lineEnd; j++) if (buf[j] < 32 && buf[j] !== 9 && buf[j] !== 13) return false;
  return nl < 0 || nl + 1 >= end || !isRespType(buf[nl + 1]);
}

/** Can a reply start here? */
export function looksLikeReply(buf: Uint8Array, at: number, end: number): boolean {
  const t = parseToken(buf, at, end);
  return t !== NEED_MORE && t !== INVALID;
}
