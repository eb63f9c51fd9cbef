/**
 * What espan never lets out, decided in one place for every path: the parse
 * processor's messages, the span_builder processor's spans and process resources,
 * and the debug exporter's text. Secret values become REDACTED (SQL literals
 * become `?`, as the OpenTelemetry database conventions write them).
 */
export { redactSqlLiterals, redactSqlLiteralsInText, sanitizeSql, type SqlDialect, type SqlSummary } from './sql';

/** What a secret value is replaced with. */
export const REDACTED = 'REDACTED';

// ---- Process command lines

const SECRET_FLAG = /^(--?[\w.-]*(pass(word|wd)?|secret|token|api[-_]?key|credential)[\w.-]*)(=.*)?$/i;
const SECRET_ASSIGNMENT = /^([\w.-]*(pass(word|wd)?|secret|token|api[-_]?key|credential)[\w.-]*=).+$/i;

/** Command line with password-like values replaced: `mysql -pX`, `--password X`, `TOKEN=x`. */
export function redactCommandLine(args: readonly string[]): string[] {
  const out: string[] = [];
  let redactNext = false;
  for (const a of args) {
    if (redactNext) {
      out.push(REDACTED);
      redactNext = false;
      continue;
    }
    // mysql's -p<password> glued form
    if (/^-p.+/.test(a) && !a.startsWith('--')) {
      out.push(`-p${REDACTED}`);
      continue;
    }
    const flag = SECRET_FLAG.exec(a);
    if (flag) {
      if (flag[4] !== undefined) out.push(`${flag[1]}=${REDACTED}`);
      else {
        out.push(a);
        redactNext = true;
      }
      continue;
    }
    const assign = SECRET_ASSIGNMENT.exec(a);
    out.push(assign ? `${assign[1]}${REDACTED}` : a);
  }
  return out;
}

// ---- Redis

/** Fed a command's arguments in order (upper case), says of each whether it is secret. */
export type RedisSecretTest = (argument: string) => boolean;

/** A command whose every argument is a credential: none is kept, not even a placeholder. */
export const ALL_ARGUMENTS = 'all';

/** The arguments after a keyword are secret, as many as `keywords` says for it. */
function afterKeyword(keywords: Record<string, number>): () => RedisSecretTest {
  return () => {
    let secretLeft = 0;
    return (argument) => {
      if (secretLeft > 0) {
        secretLeft--;
        return true;
      }
      secretLeft = keywords[argument] ?? 0;
      return false;
    };
  };
}

/** The value after each parameter named in `parameters` is secret (`name value [name value …]`). */
function parameterValues(parameters: ReadonlySet<string>): () => RedisSecretTest {
  return () => {
    let previous = '';
    return (argument) => {
      const secret = parameters.has(previous);
      previous = argument;
      return secret;
    };
  };
}

/** Server settings that hold passwords (Redis and Valkey names). */
const SECRET_CONFIG_PARAMETERS = new Set(['REQUIREPASS', 'MASTERAUTH', 'PRIMARYAUTH', 'TLS-KEY-FILE-PASS', 'TLS-CLIENT-KEY-FILE-PASS']);
/** Sentinel settings that hold passwords: `SENTINEL SET <master> auth-pass`, `SENTINEL CONFIG SET sentinel-pass`. */
const SECRET_SENTINEL_PARAMETERS = new Set(['AUTH-PASS', 'SENTINEL-PASS']);

/** Commands (with their subcommand, as the parser names them) whose arguments can be credentials. */
const REDIS_SECRETS = new Map<string, typeof ALL_ARGUMENTS | (() => RedisSecretTest)>([
  // AUTH [username] password
  ['AUTH', ALL_ARGUMENTS],
  // HELLO [protover [AUTH username password] [SETNAME clientname]]
  ['HELLO', afterKeyword({ AUTH: 2 })],
  // MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password] [KEYS key …]
  // (a key named AUTH costs the argument after it: redacting too much is the safe mistake)
  ['MIGRATE', afterKeyword({ AUTH: 1, AUTH2: 2 })],
  // ACL SETUSER username [rule …]: >password and <password add and remove a password, #hash and !hash its SHA-256
  [
    'ACL SETUSER',
    () => {
      let index = 0;
      return (argument) => index++ > 0 && /^[<>#!]/.test(argument);
    },
  ],
  // CONFIG SET parameter value [parameter value …]
  ['CONFIG SET', parameterValues(SECRET_CONFIG_PARAMETERS)],
  // SENTINEL SET master name value …, SENTINEL CONFIG SET name value (the parser names SENTINEL without its subcommand)
  ['SENTINEL', parameterValues(SECRET_SENTINEL_PARAMETERS)],
]);

/**
 * Which arguments of a Redis command are secret: undefined when none can be,
 * ALL_ARGUMENTS when all are, else a test to feed the arguments in order.
 * `command` is upper case, with the subcommand of a container command.
 */
export function redisSecretArguments(command: string): typeof ALL_ARGUMENTS | RedisSecretTest | undefined {
  const secrets = REDIS_SECRETS.get(command);
  return secrets === undefined || secrets === ALL_ARGUMENTS ? secrets : secrets();
}

/** Can the arguments of this command hold a credential? Such commands show not even their arguments' shape. */
export function redisCommandHasSecrets(command: string): boolean {
  return REDIS_SECRETS.has(command);
}

// ---- HTTP

/** The OpenTelemetry HTTP conventions' default list, plus common secret-bearing names. */
export const DEFAULT_SENSITIVE_QUERY_PARAMETERS = ['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature', 'password', 'passwd', 'pwd', 'token', 'access_token', 'api_key', 'apikey', 'secret', 'client_secret', 'auth'];

/** Parameter names as redactQuery looks them up (query parameter names are compared case-insensitively). */
export function sensitiveParameterSet(names: readonly string[]): ReadonlySet<string> {
  return new Set(names.map((n) => n.toLowerCase()));
}

const DEFAULT_SENSITIVE_QUERY_PARAMETER_SET = sensitiveParameterSet(DEFAULT_SENSITIVE_QUERY_PARAMETERS);

/** Query string with the values of sensitive parameters replaced by REDACTED, as the HTTP conventions ask. */
export function redactQuery(query: string, sensitive: ReadonlySet<string> = DEFAULT_SENSITIVE_QUERY_PARAMETER_SET): string {
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
      return sensitive.has(name.toLowerCase()) ? `${key}=${REDACTED}` : pair;
    })
    .join('&');
}

/** A request target (`/path?query`) with its query redacted. */
export function redactTarget(target: string, sensitive?: ReadonlySet<string>): string {
  const q = target.indexOf('?');
  return q < 0 ? target : `${target.slice(0, q + 1)}${redactQuery(target.slice(q + 1), sensitive)}`;
}

/**
 * Headers that carry credentials. The parse processor never reads them (it
 * keeps only the propagation headers, x-request-id, Host and User-Agent);
 * where raw bytes are shown, their values are masked.
 */
export const SECRET_HTTP_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

const SECRET_HEADER_LINE = new RegExp(`(^|\\n)(?:${SECRET_HTTP_HEADERS.join('|')})[ \\t]*:([^\\r\\n]*)`, 'gi');
const MASK = 0x2a; // '*'

/** Payload bytes with the values of SECRET_HTTP_HEADERS masked; the same array when none is there. */
export function maskHttpHeaderValues(payload: Uint8Array): Uint8Array {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
  let masked: Uint8Array | undefined;
  for (const m of text.matchAll(SECRET_HEADER_LINE)) {
    masked ??= payload.slice();
    const valueEnd = m.index + m[0].length;
    masked.fill(MASK, valueEnd - m[2].length, valueEnd);
  }
  return masked ?? payload;
}
