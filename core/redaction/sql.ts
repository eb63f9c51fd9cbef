/**
 * SQL text as espan keeps it: every literal (strings, numbers, hex and bit
 * literals) becomes `?`, comments go (they can carry anything), whitespace
 * collapses; plus the operation (first keyword) and a low-cardinality summary
 * in the OpenTelemetry `db.query.summary` style (`SELECT users orders`).
 */
import { TwoGenerationMap } from '../collections/two-generation-map';

/**
 * Whose SQL it is. PostgreSQL's differs where literals are found: backslashes
 * escape only in E'…' strings, "…" quotes identifiers, $tag$…$tag$ is a
 * string, `--` always starts a comment, block comments nest, `#` is an operator.
 */
export type SqlDialect = 'mysql' | 'postgresql';

export interface SqlSummary {
  sql: string;
  operation?: string;
  summary?: string;
}

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c >= 128;
}

function isIdent(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

/** Upper-case keywords, which a word of a statement is compared with in any case. */
class Keywords {
  private readonly set: ReadonlySet<string>;
  /** the keywords by their length */
  private readonly byLength: string[][] = [];

  constructor(words: readonly string[]) {
    this.set = new Set(words);
    for (const w of words) (this.byLength[w.length] ??= []).push(w);
  }

  /**
   * Is the word sql[start, end) one of them? `upper`: the word upper-cased,
   * when it was made (a word with non-ASCII letters needs it: toUpperCase
   * makes INTO of ınto); else the word's ASCII letters are upper-cased in place.
   */
  has(sql: string, start: number, end: number, upper: string | undefined): boolean {
    if (upper !== undefined) return this.set.has(upper);
    const n = end - start;
    const candidates = this.byLength[n];
    if (candidates === undefined) return false;
    next: for (const k of candidates) {
      for (let j = 0; j < n; j++) {
        const c = sql.charCodeAt(start + j);
        if ((c >= 97 && c <= 122 ? c - 32 : c) !== k.charCodeAt(j)) continue next;
      }
      return true;
    }
    return false;
  }
}

const TABLE_AFTER = new Keywords(['FROM', 'JOIN', 'INTO', 'UPDATE', 'TABLE', 'COPY']);
const MAX_SUMMARY_TABLES = 3;

/**
 * The statement with literals replaced by `?` (unless `keepLiterals`: the
 * parse processor's `mysql.keep_raw_sql`), comments dropped and whitespace
 * collapsed, with its operation and summary; `max` bounds the text kept.
 * Sanitising its own output changes nothing (tested on statements that do
 * not end in an operator).
 */
export function sanitizeSql(sql: string, max = 2048, keepLiterals = false, dialect: SqlDialect = 'mysql'): SqlSummary {
  const pg = dialect === 'postgresql';
  let out = '';
  let operation: string | undefined;
  const tables: string[] = [];
  let expectTable = false;
  let i = 0;
  const n = sql.length;
  // what `out` ends with, kept as it grows: asking the string would flatten it at every word
  let lastCode = -1;
  let endsWithDashes = false;
  const put = (s: string): void => {
    if (out.length >= max || s.length === 0) return;
    out += s;
    const k = s.length;
    const c = s.charCodeAt(k - 1);
    endsWithDashes = c === 45 && (k > 1 ? s.charCodeAt(k - 2) : lastCode) === 45;
    lastCode = c;
  };
  let pendingSpace = false;
  const emit = (s: string): void => {
    // `--` followed by a space would read as a comment the next time (`1--/* c */1` is 1 minus -1)
    if (pendingSpace && out.length > 0 && !endsWithDashes) put(' ');
    pendingSpace = false;
    put(s);
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      pendingSpace = true;
      i++;
      continue;
    }
    // comments: -- (with a space), #, /* */
    if ((c === 45 && sql.charCodeAt(i + 1) === 45 && (pg || i + 2 >= n || isSpace(sql.charCodeAt(i + 2)))) || (c === 35 && !pg)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      pendingSpace = true;
      continue;
    }
    if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      const close = pg ? nestedCommentEnd(sql, i) : sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      pendingSpace = true;
      continue;
    }
    if (c === 39 || (c === 34 && !pg)) {
      const start = i;
      i = skipQuoted(sql, i, c, !pg);
      emit(keepLiterals ? sql.slice(start, i) : '?');
      expectTable = false;
      continue;
    }
    if (pg && c === 36 && DOLLAR_TAG.test(sql.slice(i, i + 64))) {
      // $$…$$ or $tag$…$tag$: a string
      const start = i;
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 64))![0];
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? n : close + tag.length;
      emit(keepLiterals ? sql.slice(start, i) : '?');
      expectTable = false;
      continue;
    }
    if (pg && (c === 69 || c === 101) && sql.charCodeAt(i + 1) === 39) {
      // E'…': the one PostgreSQL string where backslashes escape
      const start = i;
      i = skipQuoted(sql, i + 1, 39, true);
      emit(keepLiterals ? sql.slice(start, i) : '?');
      expectTable = false;
      continue;
    }
    if (c === 96 || (c === 34 && pg)) {
      // `quoted identifier`, "quoted identifier" (PostgreSQL)
      const close = sql.indexOf(String.fromCharCode(c), i + 1);
      const end = close < 0 ? n : close + 1;
      const ident = sql.slice(i, end);
      emit(ident);
      i = end;
      if (expectTable) i = tableName(sql, i, ident, tables, emit);
      expectTable = false;
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(sql.charCodeAt(i + 1)))) {
      const start = i;
      i = skipNumber(sql, i);
      emit(keepLiterals ? sql.slice(start, i) : '?');
      expectTable = false;
      continue;
    }
    if ((c === 120 || c === 88 || c === 98 || c === 66) && sql.charCodeAt(i + 1) === 39) {
      // x'ABCD', b'0101'
      const start = i;
      i = skipQuoted(sql, i + 1, 39);
      emit(keepLiterals ? sql.slice(start, i) : '?');
      continue;
    }
    if (isIdentStart(c)) {
      const start = i;
      let codes = 0;
      for (; i < n; i++) {
        const d = sql.charCodeAt(i);
        if (!isIdent(d)) break;
        codes |= d;
      }
      const word = sql.slice(start, i);
      emit(word);
      // upper-cased only for the operation and words with non-ASCII letters; others are compared in place
      const upper = operation === undefined || codes >= 128 ? word.toUpperCase() : undefined;
      operation ??= upper;
      if (expectTable && !KEYWORDS_NOT_TABLES.has(sql, start, i, upper)) {
        i = tableName(sql, i, word, tables, emit);
        expectTable = false;
      } else {
        expectTable = TABLE_AFTER.has(sql, start, i, upper);
      }
      continue;
    }
    // operators and punctuation; a minus sign before a number belongs to the literal
    if (c === 45 && isDigit(sql.charCodeAt(i + 1)) && lastIsOperator(out)) {
      const start = i;
      i = skipNumber(sql, i + 1);
      emit(keepLiterals ? sql.slice(start, i) : '?');
      continue;
    }
    if (c === 44) {
      put(',');
      pendingSpace = true;
      i++;
      continue;
    }
    expectTable = false;
    emit(String.fromCharCode(c));
    i++;
  }
  const result: SqlSummary = { sql: out };
  if (operation) {
    result.operation = operation;
    // the operation and the first MAX_SUMMARY_TABLES distinct tables
    let summary = operation;
    const named: string[] = [];
    for (let t = 0; t < tables.length && named.length < MAX_SUMMARY_TABLES; t++) {
      if (named.includes(tables[t])) continue;
      named.push(tables[t]);
      summary += ' ' + tables[t];
    }
    result.summary = summary;
  }
  return result;
}

/** Statements redactSqlLiterals made, by text: applications send the same few over and over. */
const redactedStatements = new TwoGenerationMap<string, string>(1024);
const redactedPostgresqlStatements = new TwoGenerationMap<string, string>(1024);
/** Longer statements are redacted each time: they are rarely repeated word for word, and would make the cache large. */
const MAX_REMEMBERED_STATEMENT = 1024;

/** A statement as spans show it, whether or not the parser kept its literals: sanitizeSql's text, uncut. */
export function redactSqlLiterals(sql: string, dialect: SqlDialect = 'mysql'): string {
  if (sql.length > MAX_REMEMBERED_STATEMENT) return sanitizeSql(sql, Infinity, false, dialect).sql;
  const cache = dialect === 'postgresql' ? redactedPostgresqlStatements : redactedStatements;
  let redacted = cache.getAndRenew(sql);
  if (redacted === undefined) {
    redacted = sanitizeSql(sql, Infinity, false, dialect).sql;
    cache.set(sql, redacted);
  }
  return redacted;
}

// Strings ('…', "…" with doubled or backslashed quotes), hex/binary literals, numbers not part of identifiers.
const LITERAL_IN_TEXT = /'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|\b0x[0-9a-f]+\b|\bx'[0-9a-f]*'|\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi;

/**
 * Prose that quotes SQL (a server's error message: `Duplicate entry 'alice'
 * for key …`) with the quoted literals and numbers replaced by `?` and the
 * prose left as it is.
 */
export function redactSqlLiteralsInText(text: string): string {
  return text.replace(LITERAL_IN_TEXT, '?');
}

const KEYWORDS_NOT_TABLES = new Keywords(['SELECT', 'IGNORE', 'LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY', 'IF', 'NOT', 'EXISTS', 'LATERAL', 'ONLY', 'TEMPORARY', 'DUAL', 'STDIN', 'STDOUT']);

/** Reads `.name` parts after the first name of a table reference; records the full name. */
function tableName(sql: string, i: number, first: string, tables: string[], emit: (s: string) => void): number {
  let name = unquoted(first);
  while (sql.charCodeAt(i) === 46) {
    let j = i + 1;
    if (sql.charCodeAt(j) === 96 || sql.charCodeAt(j) === 34) {
      const close = sql.indexOf(sql[j], j + 1);
      j = close < 0 ? sql.length : close + 1;
    } else {
      while (j < sql.length && isIdent(sql.charCodeAt(j))) j++;
    }
    const part = sql.slice(i + 1, j);
    emit('.' + part);
    name += '.' + unquoted(part);
    i = j;
  }
  if (name && tables.length < 16) tables.push(name);
  return i;
}

/** A name without its quotes (`t`, "t"); most have none. */
function unquoted(name: string): string {
  return name.includes('`') || name.includes('"') ? name.replace(/[`"]/g, '') : name;
}

function lastIsOperator(out: string): boolean {
  const t = out.trimEnd();
  if (!t) return true;
  const c = t.charCodeAt(t.length - 1);
  return c === 61 || c === 60 || c === 62 || c === 40 || c === 44 || c === 43 || c === 42 || c === 47 || c === 45 || / (AND|OR|IN|BY|THEN|ELSE|WHEN|SELECT|VALUES|LIMIT|OFFSET|RETURN|IS|NOT)$/i.test(t);
}

/** `$$` or `$tag$` opening a PostgreSQL dollar-quoted string (`$1` is a parameter, not this). */
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/;

// Index of the `*/` closing the PostgreSQL block comment opened at `i` (they nest), or -1.
function nestedCommentEnd(sql: string, i: number): number {
  let depth = 0;
  for (let j = i; j < sql.length - 1; j++) {
    if (sql.charCodeAt(j) === 47 && sql.charCodeAt(j + 1) === 42) {
      depth++;
      j++;
    } else if (sql.charCodeAt(j) === 42 && sql.charCodeAt(j + 1) === 47) {
      if (--depth === 0) return j;
      j++;
    }
  }
  return -1;
}

function skipQuoted(sql: string, i: number, quote: number, backslashEscapes = true): number {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql.charCodeAt(j);
    if (c === 92 && backslashEscapes) {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (sql.charCodeAt(j + 1) === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return sql.length;
}

function skipNumber(sql: string, i: number): number {
  const n = sql.length;
  if (sql.charCodeAt(i) === 48 && (sql.charCodeAt(i + 1) | 32) === 120) {
    i += 2;
    while (i < n && /[0-9a-fA-F]/.test(sql[i])) i++;
    return i;
  }
  while (i < n && (isDigit(sql.charCodeAt(i)) || sql.charCodeAt(i) === 46)) i++;
  if (i < n && (sql.charCodeAt(i) | 32) === 101) {
    let j = i + 1;
    if (sql[j] === '+' || sql[j] === '-') j++;
    if (isDigit(sql.charCodeAt(j))) {
      i = j;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
    }
  }
  // 1abc is an identifier in MySQL, not a number followed by a word
  while (i < n && isIdent(sql.charCodeAt(i))) i++;
  return i;
}
