/**
 * Reads a pipeline.yaml in the OpenTelemetry Collector's shape and checks all
 * of it before anything starts. Every problem is collected, each naming the
 * file, the key path and what was expected.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import type { AnyFactory, ComponentKind, ConnectorFactory, ExporterFactory, ProcessorFactory, ReceiverFactory, Registry } from '../component';
import type { SignalType } from '../signals';
import { telemetrySchema, type TelemetryConfig } from '../telemetry/config';
import { expandEnv, type Env } from './envsubst';
import { resolveConfig, type ConfigProblem } from './schema';
import { workerStages } from '../workers/stages';

export interface ConfigError {
  file: string;
  path: string;
  message: string;
}

export function formatError(e: ConfigError): string {
  return `${e.file}: ${e.path}: ${e.message}`;
}

export class ConfigInvalid extends Error {
  constructor(readonly errors: ConfigError[]) {
    super(`invalid configuration:\n${errors.map(formatError).join('\n')}`);
  }
}

export interface ComponentConfig {
  id: string;
  kind: ComponentKind;
  type: string;
  factory: AnyFactory;
  /** the resolved block, of the type its factory's create takes */
  config: unknown;
}

export interface PipelineConfig {
  /** `traces`, `traces/name`, `metrics`, ... */
  id: string;
  receivers: string[];
  processors: string[];
  exporters: string[];
  /** the signal entering each processor, then the signal reaching the exporters */
  signals: SignalType[];
  /**
   * Worker threads that run the leading record-local processors (parse …
   * span_builder), records sharded by pid; 0 or 1: all on the main thread.
   */
  workers: number;
  /** how many leading processors run on the workers (0 when workers < 2) */
  workerStages: number;
}

export interface ServiceConfig {
  file: string;
  dir: string;
  components: Map<string, ComponentConfig>;
  pipelines: PipelineConfig[];
  extensions: string[];
  telemetry: TelemetryConfig;
  warnings: ConfigError[];
}

const SECTIONS: Record<string, ComponentKind> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  connectors: 'connector',
  extensions: 'extension',
};

const PIPELINE_TYPES = ['traces', 'metrics'];
const PIPELINE_KEYS = ['receivers', 'processors', 'exporters', 'workers'];
/** a bound that catches a typo (40000), not a policy: one worker per core is the sensible most */
const MAX_WORKERS = 256;
const ID = /^([a-z][a-z0-9_]*)(?:\/([^/\s]+))?$/;

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads, expands and validates a config file; throws ConfigInvalid with every problem. */
export function loadConfigFile(file: string, registry: Registry, env: Env = process.env): ServiceConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigInvalid([{ file, path: '(file)', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  return parseConfig(text, file, registry, env);
}

export function parseConfig(text: string, file: string, registry: Registry, env: Env = process.env): ServiceConfig {
  const errors: ConfigError[] = [];
  const err = (p: string, message: string): void => {
    errors.push({ file, path: p, message });
  };
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigInvalid(
      doc.errors.map((e) => ({ file, path: e.linePos ? `line ${e.linePos[0].line} column ${e.linePos[0].col}` : '(yaml)', message: e.message.split('\n')[0] })),
    );
  }
  const unset: ConfigProblem[] = [];
  const root = expandEnv(doc.toJS() ?? {}, env, '', unset);
  const warnings = unset.map((u) => ({ file, path: u.path, message: u.message }));
  if (!isMapping(root)) throw new ConfigInvalid([{ file, path: '(root)', message: 'expected a mapping with receivers, processors, exporters and service' }]);

  for (const key of Object.keys(root)) {
    if (!(key in SECTIONS) && key !== 'service') {
      err(key, `unknown top-level key; expected one of: ${[...Object.keys(SECTIONS), 'service'].join(', ')}`);
    }
  }

  const components = new Map<string, ComponentConfig>();
  for (const [section, kind] of Object.entries(SECTIONS)) {
    const block = root[section];
    if (block === undefined || block === null) continue;
    if (!isMapping(block)) {
      err(section, `expected a mapping of component ids to settings, got ${Array.isArray(block) ? 'a list' : typeof block}`);
      continue;
    }
    for (const [id, raw] of Object.entries(block)) {
      const m = ID.exec(id);
      if (!m) {
        err(`${section}.${id}`, 'a component id is "type" or "type/name" (type: lower-case letters, digits, _)');
        continue;
      }
      const factory = registry.get(kind, m[1]);
      if (!factory) {
        err(`${section}.${id}`, `unknown ${kind} type "${m[1]}"; known types: ${registry.types(kind).join(', ')}`);
        continue;
      }
      if (factory.deprecatedAliases?.includes(m[1])) {
        warnings.push({ file, path: `${section}.${id}`, message: `the ${kind} type "${m[1]}" is deprecated; it is now "${factory.type}"` });
      }
      const { config, problems } = resolveConfig(factory.schema, raw);
      for (const p of problems) err(`${section}.${id}.${p.path}`, p.message);
      if (config === undefined) continue;
      for (const p of factory.validate?.(config) ?? []) err(`${section}.${id}.${p.path}`, p.message);
      components.set(`${kind}:${id}`, { id, kind, type: factory.type, factory, config });
    }
  }

  const service = root.service ?? {};
  const pipelines: PipelineConfig[] = [];
  let extensions: string[] = [];
  let telemetry = resolveConfig<TelemetryConfig>(telemetrySchema, {}).config!;
  if (!isMapping(service)) {
    err('service', 'expected a mapping with pipelines');
  } else {
    for (const key of Object.keys(service)) {
      if (!['pipelines', 'extensions', 'telemetry'].includes(key)) err(`service.${key}`, 'unknown key; expected one of: extensions, pipelines, telemetry');
    }
    const t = resolveConfig<TelemetryConfig>(telemetrySchema, service.telemetry);
    for (const p of t.problems) err(`service.telemetry.${p.path}`, p.message);
    if (t.config) telemetry = t.config;

    if (service.extensions !== undefined && service.extensions !== null) {
      if (!Array.isArray(service.extensions) || service.extensions.some((x) => typeof x !== 'string')) {
        err('service.extensions', 'expected a list of extension ids');
      } else {
        extensions = service.extensions as string[];
        extensions.forEach((x, i) => {
          if (!components.has(`extension:${x}`) && !(isMapping(root.extensions) && x in root.extensions)) {
            err(`service.extensions[${i}]`, `extension "${x}" is not defined under extensions`);
          }
        });
      }
    }

    const pl = service.pipelines;
    if (!isMapping(pl) || Object.keys(pl).length === 0) {
      err('service.pipelines', 'expected at least one pipeline, e.g. traces: {receivers: [...], exporters: [...]}');
    } else {
      for (const [pid, raw] of Object.entries(pl)) {
        const p = checkPipeline(pid, raw, root, components, err);
        if (p) pipelines.push(p);
      }
      for (const c of components.values()) {
        if (c.kind !== 'connector') continue;
        const asExporter = pipelines.some((p) => p.exporters.includes(c.id));
        const asReceiver = pipelines.some((p) => p.receivers.includes(c.id));
        if (asExporter !== asReceiver) {
          err(`connectors.${c.id}`, `a connector must be an exporter in one pipeline and a receiver in another; it is only ${asExporter ? 'an exporter' : 'a receiver'}`);
        }
      }
    }
  }
  if (errors.length) throw new ConfigInvalid(errors);
  return { file, dir: path.dirname(path.resolve(file)), components, pipelines, extensions, telemetry, warnings };
}

function checkPipeline(
  pid: string,
  raw: unknown,
  root: Record<string, unknown>,
  components: Map<string, ComponentConfig>,
  err: (p: string, m: string) => void,
): PipelineConfig | undefined {
  const at = `service.pipelines.${pid}`;
  const m = ID.exec(pid);
  if (!m || !PIPELINE_TYPES.includes(m[1])) {
    err(at, `a pipeline id is a signal type (${PIPELINE_TYPES.join(', ')}) optionally followed by /name`);
    return undefined;
  }
  if (!isMapping(raw)) {
    err(at, 'expected a mapping with receivers, processors and exporters');
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!PIPELINE_KEYS.includes(key)) err(`${at}.${key}`, `unknown key; expected one of: ${[...PIPELINE_KEYS].sort().join(', ')}`);
  }
  const workers = raw.workers ?? 0;
  if (!Number.isInteger(workers) || (workers as number) < 0 || (workers as number) > MAX_WORKERS) {
    err(`${at}.workers`, `expected a whole number of worker threads from 0 to ${MAX_WORKERS} (0 or 1: every stage on the main thread)`);
    return undefined;
  }
  const lists: Record<string, string[]> = {};
  let ok = true;
  for (const section of ['receivers', 'processors', 'exporters']) {
    const v = raw[section] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      err(`${at}.${section}`, 'expected a list of component ids');
      ok = false;
      continue;
    }
    if (section !== 'processors' && v.length === 0) {
      err(`${at}.${section}`, `a pipeline needs at least one ${section.slice(0, -1)}`);
      ok = false;
    }
    const kind = SECTIONS[section];
    v.forEach((id: string, i: number) => {
      if (components.has(`${kind}:${id}`)) return;
      // Connectors stand where receivers and exporters do.
      if (section !== 'processors' && components.has(`connector:${id}`)) return;
      ok = false;
      const inSection = (name: string) => isMapping(root[name]) && id in (root[name] as object);
      // A component defined but broken already has its own error; only name undefined ones.
      if (!inSection(section) && !(section !== 'processors' && inSection('connectors'))) {
        err(`${at}.${section}[${i}]`, `${kind} "${id}" is not defined under ${section}${section === 'processors' ? '' : ' or connectors'}`);
      }
    });
    lists[section] = v as string[];
  }
  if (!ok) return undefined;
  const get = (kind: ComponentKind, id: string) => components.get(`${kind}:${id}`) ?? components.get(`connector:${id}`)!;

  // Fan-in: every receiver must produce the same signal.
  const produced = lists.receivers.map((id) => {
    const c = get('receiver', id);
    return { id, signal: (c.factory as ReceiverFactory | ConnectorFactory).produces(c.config) };
  });
  const first = produced[0];
  for (const r of produced.slice(1)) {
    if (r.signal !== first.signal) {
      err(`${at}.receivers`, `receiver "${r.id}" produces ${r.signal} but receiver "${first.id}" produces ${first.signal}; receivers of one pipeline must produce the same signal`);
      return undefined;
    }
  }
  let signal: SignalType = first.signal;
  let from = `receiver "${first.id}"`;
  const signals: SignalType[] = [];
  for (const [i, id] of lists.processors.entries()) {
    const f = get('processor', id).factory as ProcessorFactory;
    signals.push(signal);
    if (f.consumes !== 'any' && f.consumes !== signal) {
      err(`${at}.processors[${i}]`, `processor "${id}" consumes ${f.consumes} but ${from} produces ${signal}`);
      return undefined;
    }
    if (f.produces !== 'same') signal = f.produces;
    from = `processor "${id}"`;
  }
  signals.push(signal);
  for (const [i, id] of lists.exporters.entries()) {
    const c = get('exporter', id);
    const accepts = (c.factory as ExporterFactory | ConnectorFactory).accepts(c.config);
    if (!accepts.includes(signal)) {
      err(`${at}.exporters[${i}]`, `exporter "${id}" takes ${accepts.join(' or ')} but ${from} produces ${signal}`);
    }
  }
  let inWorkers = 0;
  if ((workers as number) >= 2) {
    const stages = workerStages(
      lists.processors.map((id) => ({ id, type: get('processor', id).type })),
      signals,
    );
    if ('problem' in stages) {
      err(stages.index === undefined ? `${at}.workers` : `${at}.processors[${stages.index}]`, `workers: ${workers as number}: ${stages.problem}`);
      return undefined;
    }
    inWorkers = stages.count;
  }
  return { id: pid, receivers: lists.receivers, processors: lists.processors, exporters: lists.exporters, signals, workers: workers as number, workerStages: inWorkers };
}
