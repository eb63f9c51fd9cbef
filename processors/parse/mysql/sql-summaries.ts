/**
 * Sanitised SQL by statement text, shared by every connection of one parse
 * processor: applications send the same statements over and over, and
 * sanitising is the costliest step of a query. Only short texts are kept, and
 * at most `limit` of them (cleared when full), so the cache stays under a few MB.
 */
import { sanitizeSql, type SqlDialect, type SqlSummary } from '../../../core/redaction';

/** Longer statements are sanitised each time: they are rarely repeated word for word. */
const MAX_CACHED_TEXT = 512;

export class SqlSummaries {
  private readonly byText = new Map<string, SqlSummary>();

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
}
