/** Scrubbing of values that must not leave the host: SQL literals, secret query parameters. */

// Strings ('…', "…" with doubled or backslashed quotes), hex/binary literals, numbers not part of identifiers.
const SQL_LITERAL = /'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|\b0x[0-9a-f]+\b|\bx'[0-9a-f]*'|\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi;

/**
 * SQL with every literal replaced by `?`. The parser already sanitises; this
 * second pass is idempotent and guards against a parser that did not.
 */
export function sanitizeSql(sql: string): string {
  return sql.replace(SQL_LITERAL, '?');
}

/** The OpenTelemetry HTTP conventions' default list, plus common secret-bearing names. */
export const DEFAULT_SENSITIVE_QUERY_PARAMETERS = ['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature', 'password', 'passwd', 'pwd', 'token', 'access_token', 'api_key', 'apikey', 'secret', 'client_secret', 'auth'];

/** Query string with the values of sensitive parameters replaced by `REDACTED`, as the HTTP conventions ask. */
export function redactQuery(query: string, sensitive: ReadonlySet<string>): string {
  if (!query) return query;
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const key = pair.slice(0, eq);
      let name = key;
      try {
        name = decodeURIComponent(key.replace(/\+/g, ' '));
      } catch {
        /* keep the raw key */
      }
      return sensitive.has(name.toLowerCase()) ? `${key}=REDACTED` : pair;
    })
    .join('&');
}
