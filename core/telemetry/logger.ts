/**
 * Structured logs: one JSON object per line on stderr (the Collector's
 * production encoding), or a short human line on a TTY.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LogSink {
  write(line: string): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  encoding?: 'json' | 'console';
  sink?: LogSink;
}

function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Error) return v.message;
  return v;
}

export function createLogger(opts: LoggerOptions = {}, bound: Record<string, unknown> = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const encoding = opts.encoding ?? (process.stderr.isTTY ? 'console' : 'json');
  const sink = opts.sink ?? { write: (line: string) => process.stderr.write(line) };
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (RANK[level] < min) return;
    const all = { ...bound, ...fields };
    if (encoding === 'json') {
      sink.write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...all }, jsonSafe) + '\n');
    } else {
      const extra = Object.keys(all).length ? ' ' + JSON.stringify(all, jsonSafe) : '';
      sink.write(`${new Date().toISOString()}\t${level}\t${msg}${extra}\n`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...opts, encoding, sink }, { ...bound, ...fields }),
  };
}

/** A logger that keeps lines in memory: for tests. */
export function memoryLogger(): Logger & { lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', encoding: 'json', sink: { write: (l) => lines.push(JSON.parse(l)) } });
  return Object.assign(logger, { lines });
}
