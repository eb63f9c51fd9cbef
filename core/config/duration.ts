/** Go-style durations as the Collector writes them: "300ms", "5s", "1m30s", "1h". */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/** Milliseconds in a duration string, or undefined when it is not one. Plain numbers are milliseconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (!m) return undefined;
    total += parseFloat(m[1]) * UNIT_MS[m[2]];
    matched++;
  }
  return matched ? total : undefined;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms) return `${ms / 1000}s`;
  return `${ms}ms`;
}
