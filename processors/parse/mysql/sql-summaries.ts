/**
 * Sanitised SQL by statement text (or its bytes on the wire), shared by every connection of one parse
 * processor: applications send the same statements over and over, and
 * sanitising is the costliest step of a query. Only short texts are kept, and
 * at most `limit` of them each way (cleared when full), so the cache stays under a few MB;
 * a statement read from the wire is kept from the second time it comes.
 */
import { sanitizeSql, type SqlDialect, type SqlSummary } from '../../../core/redaction';
import { utf8 } from '../decoder';

/** Longer statements are sanitised each time: they are rarely repeated word for word. */
const MAX_CACHED_TEXT = 512;

/** A power of two: hashes of statements seen once remembered (16 KB). */
const SEEN_ONCE_SLOTS = 4096;

/** Statements kept under one hash of their bytes at most. */
const MAX_SHARING_HASH = 4;

/** A statement's bytes as they came, with what sanitizeSql made of their text; `next` shares its hash. */
interface StatementBytes {
  bytes: Uint8Array;
  summary: SqlSummary;
  next: StatementBytes | undefined;
}

export class SqlSummaries {
  private readonly byText = new Map<string, SqlSummary>();
  /** the statements parsers read from the wire, by a hash of their bytes (a small integer: V8 keys a Map by it directly) */
  private readonly byBytes = new Map<number, StatementBytes>();
  private bytesKept = 0;
  /**
   * The hashes (plus one: 0 is none) of statements seen once and not kept, by
   * their low bits: a statement is kept the second time it comes, so the many
   * that come once (literals in their text) are not copied into the cache,
   * nor push out those that repeat.
   */
  private readonly seenOnce = new Int32Array(SEEN_ONCE_SLOTS);

  constructor(
    private readonly maxSqlLength: number,
    private readonly keepRawSql: boolean,
    private readonly limit = 1024,
    private readonly dialect: SqlDialect = 'mysql',
  ) {}

  /** What sanitizeSql makes of `sql`; the summary is shared, never to be changed. */
  of(sql: string): SqlSummary {
    if (sql.length > MAX_CACHED_TEXT) return sanitizeSql(sql, this.maxSqlLength, this.keepRawSql, this.dialect);
    let s = this.byText.get(sql);
    if (s === undefined) {
      s = sanitizeSql(sql, this.maxSqlLength, this.keepRawSql, this.dialect);
      if (this.byText.size >= this.limit) this.byText.clear();
      this.byText.set(sql, s);
    }
    return s;
  }

  /**
   * of() of the UTF-8 text buf[start, end). A statement that repeats is found
   * by its bytes, so its text is not decoded again (nor hashed as a string):
   * the same bytes always decode to the same text.
   */
  ofUtf8(buf: Uint8Array, start: number, end: number): SqlSummary {
    if (end > buf.length) end = buf.length;
    const n = end - start;
    if (n <= 0 || n > MAX_CACHED_TEXT) return this.of(utf8(buf, start, end));
    const key = bytesHash(buf, start, end);
    let sharing = 0;
    for (let e = this.byBytes.get(key); e !== undefined; e = e.next, sharing++) if (sameBytes(e.bytes, buf, start, n)) return e.summary;
    const summary = sanitizeSql(utf8(buf, start, end), this.maxSqlLength, this.keepRawSql, this.dialect);
    // statements made to share a hash (they could be sent on purpose) are not kept beyond a few: a look-up stays short
    if (sharing >= MAX_SHARING_HASH) return summary;
    const slot = key & (SEEN_ONCE_SLOTS - 1);
    if (this.seenOnce[slot] !== key + 1) {
      this.seenOnce[slot] = key + 1;
      return summary;
    }
    if (this.bytesKept >= this.limit) {
      this.byBytes.clear();
      this.bytesKept = 0;
    }
    this.byBytes.set(key, { bytes: buf.slice(start, end), summary, next: this.byBytes.get(key) });
    this.bytesKept++;
    return summary;
  }
}

/**
 * A hash of buf[start, end) as a small integer: four bytes a multiplication
 * (a byte each made the chain of multiplications the cost of a look-up).
 * Exported for the tests, which make statements that share one.
 */
export function bytesHash(buf: Uint8Array, start: number, end: number): number {
  let h = end - start;
  let i = start;
  for (; i + 4 <= end; i += 4) h = Math.imul(h ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24)), 0x01000193);
  for (; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/** Are buf[start, start + n) the bytes of `kept`? */
function sameBytes(kept: Uint8Array, buf: Uint8Array, start: number, n: number): boolean {
  if (kept.length !== n) return false;
  for (let i = 0; i < n; i++) if (kept[i] !== buf[start + i]) return false;
  return true;
}
