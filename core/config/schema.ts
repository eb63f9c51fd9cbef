/**
 * Component config schemas are convict schemas: every key has `default`,
 * `format` and `doc`. resolveConfig checks a user's block against one and
 * returns the config with defaults filled in, or every problem found.
 *
 * A strict walk runs before convict: convict silently coerces some strings
 * ("yes" to true) and cannot name the keys a mistyped one could have been.
 */
import convict from 'convict';
import { parseDuration } from './duration';

export type ConfigSchema = Record<string, unknown>;

/** A problem in a config: where it is and what is wrong. Every validator in espan reports these. */
export interface ConfigProblem {
  /** dotted key path inside the component's block */
  path: string;
  message: string;
}

/**
 * One leaf of a component schema: a convict leaf (`doc`, `format`, `default`)
 * that also carries, in its type only, what the resolved config holds there.
 * A component describes its config once, with these, and derives its config
 * type with ConfigOf.
 */
export interface Setting<T> {
  doc: string;
  format: unknown;
  default: unknown;
  nullable?: boolean;
  /** never set: carries T for ConfigOf */
  readonly resolvesTo?: T;
}

/** A component schema built from settings; nested mappings are sub-blocks. */
export interface SettingsSchema {
  readonly [key: string]: Setting<unknown> | SettingsSchema;
}

/** The resolved config a schema of settings describes (durations are milliseconds). */
export type ConfigOf<S> = { -readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : ConfigOf<S[K]> };

/** Builders for settings, one per format; the doc comes last so the default reads first. */
export const setting = {
  string: (def: string, doc: string): Setting<string> => ({ format: String, default: def, doc }),
  bool: (def: boolean, doc: string): Setting<boolean> => ({ format: Boolean, default: def, doc }),
  number: (def: number, doc: string): Setting<number> => ({ format: Number, default: def, doc }),
  /** an integer, negative ones included */
  int: (def: number, doc: string): Setting<number> => ({ format: 'int', default: def, doc }),
  /** an integer ≥ 0 */
  nat: (def: number, doc: string): Setting<number> => ({ format: 'nat', default: def, doc }),
  port: (def: number, doc: string): Setting<number> => ({ format: 'port', default: def, doc }),
  /** a Go-style duration string ("500ms", "5s"), resolved to milliseconds */
  duration: (def: string | 0, doc: string): Setting<number> => ({ format: 'duration', default: def, doc }),
  /** a duration that may be left unset (null) */
  optionalDuration: (doc: string): Setting<number | null> => ({ format: 'duration', default: null, nullable: true, doc }),
  oneOf: <const T extends string>(values: readonly T[], def: NoInfer<T>, doc: string): Setting<T> => ({ format: [...values], default: def, doc }),
  stringList: (def: string[], doc: string): Setting<string[]> => ({ format: 'string-list', default: def, doc }),
  intList: (def: number[], doc: string): Setting<number[]> => ({ format: 'int-list', default: def, doc }),
  stringMap: (def: Record<string, string>, doc: string): Setting<Record<string, string>> => ({ format: 'string-map', default: def, doc }),
  /** a format of the component's own: a convict format name or a function that throws on a bad value */
  custom: <T>(format: unknown, def: T, doc: string): Setting<T> => ({ format, default: def, doc }),
};

let formatsAdded = false;
function addFormats(): void {
  if (formatsAdded) return;
  formatsAdded = true;
  convict.addFormat({
    name: 'duration',
    validate(v: unknown) {
      if (parseDuration(v) === undefined) throw new Error('must be a duration such as "500ms", "5s" or "1m30s"');
    },
  });
  convict.addFormat({
    name: 'string-map',
    validate(v: unknown) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('must be a mapping of names to strings');
      for (const [k, x] of Object.entries(v as object)) {
        if (typeof x !== 'string') throw new Error(`value of "${k}" must be a string`);
      }
    },
  });
  convict.addFormat({
    name: 'string-list',
    validate(v: unknown) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error('must be a list of strings');
    },
  });
  convict.addFormat({
    name: 'int-list',
    validate(v: unknown) {
      if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x))) throw new Error('must be a list of integers');
    },
  });
}

interface Leaf {
  default: unknown;
  format?: unknown;
  doc?: string;
  nullable?: boolean;
}

function isLeaf(node: unknown): node is Leaf {
  return typeof node === 'object' && node !== null && 'default' in node;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function formatName(format: unknown): string | undefined {
  if (typeof format === 'string') return format;
  if (format === Boolean) return 'Boolean';
  if (format === Number) return 'Number';
  if (format === String) return 'String';
  if (format === Array) return 'Array';
  if (format === Object) return 'Object';
  return undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Unknown keys, mappings where scalars belong and the reverse, and scalar types convict would coerce. */
function strictWalk(schema: ConfigSchema, value: unknown, path: string, problems: ConfigProblem[]): void {
  if (!isMapping(value)) {
    problems.push({ path: path || '(block)', message: `expected a mapping, got ${describe(value)}` });
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    const node = schema[key];
    if (node === undefined) {
      const known = Object.keys(schema).sort();
      problems.push({ path: at, message: `unknown key; expected one of: ${known.join(', ') || '(none: this component takes no settings)'}` });
      continue;
    }
    if (!isLeaf(node)) {
      if (v === null || v === undefined) continue; // `tls:` with nothing under it keeps the defaults
      strictWalk(node as ConfigSchema, v, at, problems);
      continue;
    }
    if (v === null && (node.nullable || node.default === null)) continue;
    const f = formatName(node.format);
    const bad = (expected: string): void => {
      problems.push({ path: at, message: `expected ${expected}, got ${describe(v)}` });
    };
    if (f === 'Boolean' && typeof v !== 'boolean') bad('true or false');
    else if ((f === 'Number' || f === 'int' || f === 'nat' || f === 'port') && typeof v !== 'number') bad('a number');
    else if (f === 'String' && typeof v !== 'string') bad('a string');
    else if (f === 'Array' && !Array.isArray(v)) bad('a list');
    else if (f === 'Object' && !isMapping(v)) bad('a mapping');
  }
}

/** Turns every duration-format leaf into milliseconds. */
function normalise(schema: ConfigSchema, value: Record<string, unknown>): void {
  for (const [key, node] of Object.entries(schema)) {
    if (isLeaf(node)) {
      if (node.format === 'duration' && value[key] !== null && value[key] !== undefined) value[key] = parseDuration(value[key]);
    } else if (isMapping(value[key])) {
      normalise(node as ConfigSchema, value[key] as Record<string, unknown>);
    }
  }
}

function convictProblems(message: string): ConfigProblem[] {
  // convict joins its errors with newlines: "a.b: must be ...: value was ..."
  return message
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const m = /^([^:]+): (.*)$/.exec(line);
      return m ? { path: m[1], message: m[2] } : { path: '(block)', message: line };
    });
}

export interface Resolved<C> {
  config?: C;
  problems: ConfigProblem[];
}

/** Checks a user's block against a schema; fills defaults; durations become milliseconds. */
export function resolveConfig<C>(schema: ConfigSchema, raw: unknown): Resolved<C> {
  addFormats();
  const problems: ConfigProblem[] = [];
  const block = raw === null || raw === undefined ? {} : raw;
  strictWalk(schema, block, '', problems);
  if (problems.length) return { problems };
  let conf: convict.Config<any>;
  try {
    conf = convict(schema as convict.Schema<any>, { env: {}, args: [] });
    conf.load(block);
    conf.validate({ allowed: 'strict', output: () => {} });
  } catch (e) {
    return { problems: convictProblems((e as Error).message) };
  }
  const config = conf.getProperties() as Record<string, unknown>;
  normalise(schema, config);
  return { config: config as C, problems };
}

/** Every key of a schema with its default and doc: for README tables and `espan components`. */
export function describeSchema(schema: ConfigSchema, prefix = ''): Array<{ key: string; default: unknown; doc?: string }> {
  const rows: Array<{ key: string; default: unknown; doc?: string }> = [];
  for (const [key, node] of Object.entries(schema)) {
    const at = prefix ? `${prefix}.${key}` : key;
    if (isLeaf(node)) rows.push({ key: at, default: node.default, doc: node.doc });
    else rows.push(...describeSchema(node as ConfigSchema, at));
  }
  return rows;
}
