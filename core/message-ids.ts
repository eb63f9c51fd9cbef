/**
 * Ids derived from a message's identity: the same message always gets the
 * same id (the agent derives it, a linker joins on it). thread_correlation
 * gives server requests their thread trace id, the span_builder processor gives each
 * eSpan its span id.
 */
import { hex128, wordHash128, WordHash64 } from './hash';
import type { HostInfo, L7Message } from './signals';

const hash = new WordHash64();
/** the words of an id after its prefix, fed at once (WordHash64.words) */
const WORDS = new Uint32Array(6);
/** the two hashes of a thread trace id */
const TRACE_ID_WORDS = new Uint32Array(4);

/** Hash of a host id, computed once per HostInfo object (shared by all of a host's records). */
const hostWords = new WeakMap<HostInfo, number>();
/** the host asked for last, and its word: a WeakMap lookup costs as much as hashing an id's other words */
let lastHost: HostInfo | undefined;
let lastHostWord = 0;
function hostWord(host: HostInfo): number {
  if (host === lastHost) return lastHostWord;
  let w = hostWords.get(host);
  if (w === undefined) {
    hash.begin(0x68737421);
    hash.text(host.hostId);
    w = hash.fold32();
    hostWords.set(host, w);
  }
  lastHost = host;
  return (lastHostWord = w);
}

/** `x`, a non-negative integer below 2^53, as two words (low, high) to `words[at..at+1]`. */
function putNumber(words: Uint32Array, at: number, x: number): void {
  words[at] = x >>> 0;
  words[at + 1] = (x / 4294967296) >>> 0;
}

/**
 * In-process trace id of a server request: host, process, thread and the
 * request's first-byte sequence number and read time identify it.
 */
export function threadTraceIdOf(m: L7Message): string {
  WORDS[0] = hostWord(m.host); // before begin(): it uses the same lanes
  WORDS[1] = m.pid;
  WORDS[2] = m.tid;
  WORDS[3] = m.reqSeq >>> 0;
  putNumber(WORDS, 4, m.reqStart);
  wordHash128(0x54485244, 0x74687264, WORDS, 6, TRACE_ID_WORDS, 0);
  // spelled at once: one flat string, not a rope of the halves that every span and link key holding it keeps, nor the halves made first
  return hex128(TRACE_ID_WORDS);
}

/** scratch for spanIdOf's prefix */
const PREFIX = new Int32Array(2);

/** Span id of the message's eSpan: its connection, role and request identify it on its host. */
export function spanIdOf(m: L7Message): string {
  spanIdPrefix(m, PREFIX, 0);
  return spanIdAfter(PREFIX[0], PREFIX[1], m);
}

/**
 * What spanIdOf hashes first, the same for every request of one end of a
 * connection (its host and connection id), as lanes to `out[at..at+1]`: kept
 * per connection, it spares hashing the connection id per span.
 */
export function spanIdPrefix(m: L7Message, out: Int32Array, at: number): void {
  const host = hostWord(m.host);
  hash.begin(0x5350414e);
  hash.word(host);
  hash.text(m.connId);
  hash.save(out, at);
}

/** spanIdOf from the two lanes of the prefix (spanIdPrefix) of the message's host and connection. */
export function spanIdAfter(h1: number, h2: number, m: L7Message): string {
  WORDS[0] = m.role === 'server' ? 1 : 2;
  WORDS[1] = m.reqSeq >>> 0;
  putNumber(WORDS, 2, m.reqStart);
  hash.resume(h1, h2);
  hash.words(WORDS, 4);
  return hash.hex16();
}
