/**
 * Environment expansion as the OpenTelemetry Collector does it, applied to
 * every string value of the parsed YAML (never to keys):
 *   ${env:VAR}            the variable's value
 *   ${env:VAR:-default}   the default when VAR is unset or empty
 *   ${VAR}                same as ${env:VAR}
 *   $$                    a literal $
 * A value that is exactly one reference takes the YAML type of what it expands
 * to (`${env:PORT}` with PORT=4317 is a number); inside a longer string it is text.
 */
import { parse as parseYaml } from 'yaml';
import type { ConfigProblem } from './schema';

export type Env = Record<string, string | undefined>;

const REF = /\$\$|\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE = /^\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

function lookup(env: Env, name: string, fallback: string | undefined, path: string, unset: ConfigProblem[]): string {
  const v = env[name];
  if (v !== undefined && v !== '') return v;
  if (fallback !== undefined) return fallback;
  if (v === undefined) unset.push({ path, message: `environment variable ${name} is not set; it expands to an empty string` });
  return '';
}

/** Expands one string; `unset` collects references to unset variables (warnings, as in the Collector). */
export function expandString(s: string, env: Env, path = '', unset: ConfigProblem[] = []): unknown {
  const whole = WHOLE.exec(s);
  if (whole) {
    const text = lookup(env, whole[1], whole[2], path, unset);
    return scalarFromYaml(text);
  }
  return s.replace(REF, (m, name: string | undefined, fallback: string | undefined) =>
    m === '$$' ? '$' : lookup(env, name!, fallback, path, unset),
  );
}

function scalarFromYaml(text: string): unknown {
  if (text === '') return '';
  try {
    const v: unknown = parseYaml(text);
    // Only scalars take their YAML type; a value that looks like a map or list stays text.
    if (v === null || typeof v === 'object') return text;
    return v;
  } catch {
    return text;
  }
}

/** Expands every string in a parsed YAML document. */
export function expandEnv(value: unknown, env: Env, path = '', unset: ConfigProblem[] = []): unknown {
  if (typeof value === 'string') return expandString(value, env, path, unset);
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, `${path}[${i}]`, unset));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env, path ? `${path}.${k}` : k, unset);
    return out;
  }
  return value;
}
