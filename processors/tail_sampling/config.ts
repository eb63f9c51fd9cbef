/**
 * Configuration of `tail_sampling`, key for key the OpenTelemetry Collector's
 * (processor/tailsamplingprocessor/config.go), so a Collector block loads
 * unchanged. `policies` is a free-form list in YAML; its convict format walks
 * every policy and names the exact key path of the first problem.
 */
import type { ConfigSchema } from '../../core/config/schema';
import { STATUS_NAMES } from './policies/status_code';

export interface PolicyConfig {
  name: string;
  type: string;
  latency?: { threshold_ms: number; upper_threshold_ms: number };
  numeric_attribute?: { key: string; min_value: number; max_value: number; invert_match: boolean };
  probabilistic?: { hash_salt: string; sampling_percentage: number };
  status_code?: { status_codes: string[] };
  string_attribute?: { key: string; values: string[]; enabled_regex_matching: boolean; cache_max_size: number; invert_match: boolean };
  rate_limiting?: { spans_per_second: number };
  span_count?: { min_spans: number; max_spans: number };
  trace_state?: { key: string; values: string[] };
  boolean_attribute?: { key: string; value: boolean; invert_match: boolean };
  propagated?: { drop_not_sampled: boolean };
  and?: { and_sub_policy: PolicyConfig[] };
  drop?: { drop_sub_policy: PolicyConfig[] };
  composite?: {
    max_total_spans_per_second: number;
    policy_order: string[];
    composite_sub_policy: PolicyConfig[];
    rate_allocation: Array<{ policy: string; percent: number }>;
  };
}

export interface TailSamplingConfig {
  /** milliseconds (the schema's duration format) */
  decision_wait: number;
  num_traces: number;
  expected_new_traces_per_sec: number;
  decision_cache: { sampled_cache_size: number | string; non_sampled_cache_size: number | string };
  sample_on_first_match: boolean;
  drop_pending_traces_on_shutdown: boolean;
  policies: PolicyConfig[];
}

type FieldKind = 'string' | 'number' | 'int' | 'bool' | 'strings' | 'policies' | 'allocations';

interface BlockSpec {
  fields: Record<string, { kind: FieldKind; default: unknown; required?: boolean }>;
}

/** Per-policy blocks: each field with its kind and the Collector's zero-value default. */
export const POLICY_BLOCKS: Record<string, BlockSpec> = {
  latency: { fields: { threshold_ms: { kind: 'int', default: 0 }, upper_threshold_ms: { kind: 'int', default: 0 } } },
  numeric_attribute: {
    fields: {
      key: { kind: 'string', default: '', required: true },
      min_value: { kind: 'int', default: 0 },
      max_value: { kind: 'int', default: 0 },
      invert_match: { kind: 'bool', default: false },
    },
  },
  probabilistic: { fields: { hash_salt: { kind: 'string', default: '' }, sampling_percentage: { kind: 'number', default: 0 } } },
  status_code: { fields: { status_codes: { kind: 'strings', default: [], required: true } } },
  string_attribute: {
    fields: {
      key: { kind: 'string', default: '', required: true },
      values: { kind: 'strings', default: [] },
      enabled_regex_matching: { kind: 'bool', default: false },
      cache_max_size: { kind: 'int', default: 0 },
      invert_match: { kind: 'bool', default: false },
    },
  },
  rate_limiting: { fields: { spans_per_second: { kind: 'int', default: 0 } } },
  span_count: { fields: { min_spans: { kind: 'int', default: 0 }, max_spans: { kind: 'int', default: 0 } } },
  trace_state: { fields: { key: { kind: 'string', default: '', required: true }, values: { kind: 'strings', default: [] } } },
  boolean_attribute: {
    fields: { key: { kind: 'string', default: '', required: true }, value: { kind: 'bool', default: false }, invert_match: { kind: 'bool', default: false } },
  },
  propagated: { fields: { drop_not_sampled: { kind: 'bool', default: false } } },
  and: { fields: { and_sub_policy: { kind: 'policies', default: [], required: true } } },
  drop: { fields: { drop_sub_policy: { kind: 'policies', default: [], required: true } } },
  composite: {
    fields: {
      max_total_spans_per_second: { kind: 'int', default: 0 },
      policy_order: { kind: 'strings', default: [] },
      composite_sub_policy: { kind: 'policies', default: [], required: true },
      rate_allocation: { kind: 'allocations', default: [] },
    },
  },
};

/** Policies allowed at each level, as the Collector's config structs nest them. */
const SHARED_TYPES = [
  'always_sample',
  'latency',
  'numeric_attribute',
  'probabilistic',
  'status_code',
  'string_attribute',
  'rate_limiting',
  'span_count',
  'trace_state',
  'boolean_attribute',
  'propagated',
];
const TOP_TYPES = [...SHARED_TYPES, 'and', 'composite', 'drop'];
const COMPOSITE_SUB_TYPES = [...SHARED_TYPES, 'and'];
/** Collector policy types espan does not implement: named so the error says so rather than "unknown". */
const COLLECTOR_ONLY_TYPES = ['ottl_condition', 'bytes_limiting', 'trace_flags', 'not', 'skip', 'predictive_limiting'];

export interface PolicyProblem {
  path: string;
  message: string;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function checkField(kind: FieldKind, v: unknown, at: string, level: 'and' | 'drop' | 'composite', problems: PolicyProblem[]): void {
  const bad = (expected: string): void => {
    problems.push({ path: at, message: `expected ${expected}, got ${describe(v)}` });
  };
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') bad('a string');
      break;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) bad('a number');
      break;
    case 'int':
      if (!Number.isInteger(v)) bad('an integer');
      break;
    case 'bool':
      if (typeof v !== 'boolean') bad('true or false');
      break;
    case 'strings':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad('a list of strings');
      break;
    case 'policies':
      if (!Array.isArray(v)) bad('a list of policies');
      else checkPolicyList(v, at, level === 'composite' ? COMPOSITE_SUB_TYPES : SHARED_TYPES, problems);
      break;
    case 'allocations':
      if (!Array.isArray(v)) {
        bad('a list of {policy, percent}');
        break;
      }
      v.forEach((a, i) => {
        const p = `${at}[${i}]`;
        if (!isMapping(a)) return problems.push({ path: p, message: `expected a mapping with policy and percent, got ${describe(a)}` });
        for (const k of Object.keys(a)) if (k !== 'policy' && k !== 'percent') problems.push({ path: `${p}.${k}`, message: 'unknown key; expected one of: percent, policy' });
        if (typeof a.policy !== 'string') problems.push({ path: `${p}.policy`, message: `expected a sub-policy name, got ${describe(a.policy)}` });
        if (a.percent !== undefined && !Number.isInteger(a.percent)) problems.push({ path: `${p}.percent`, message: `expected an integer, got ${describe(a.percent)}` });
      });
      break;
  }
}

function checkPolicy(raw: unknown, at: string, allowed: string[], problems: PolicyProblem[]): void {
  if (!isMapping(raw)) {
    problems.push({ path: at, message: `expected a policy mapping with name and type, got ${describe(raw)}` });
    return;
  }
  const label = typeof raw.name === 'string' ? ` (policy "${raw.name}")` : '';
  if (typeof raw.name !== 'string' || raw.name === '') problems.push({ path: `${at}.name`, message: 'every policy needs a non-empty name' });
  const type = raw.type;
  if (typeof type !== 'string') {
    problems.push({ path: `${at}.type${label}`, message: `expected a policy type, one of: ${allowed.join(', ')}` });
  } else if (!allowed.includes(type)) {
    const why = COLLECTOR_ONLY_TYPES.includes(type)
      ? 'is a Collector policy espan does not implement'
      : TOP_TYPES.includes(type)
        ? 'is not allowed at this level (the Collector nests only shared policies, and `and` inside composite)'
        : 'is unknown';
    problems.push({ path: `${at}.type${label}`, message: `"${type}" ${why}; expected one of: ${allowed.join(', ')}` });
  }
  for (const [key, block] of Object.entries(raw)) {
    if (key === 'name' || key === 'type') continue;
    const spec = POLICY_BLOCKS[key];
    if (!spec) {
      problems.push({ path: `${at}.${key}${label}`, message: `unknown key; expected name, type, or a policy block (${Object.keys(POLICY_BLOCKS).join(', ')})` });
      continue;
    }
    // The Collector accepts (and ignores) blocks of other types; only the block of `type` must be complete.
    if (block === null || block === undefined) continue;
    if (!isMapping(block)) {
      problems.push({ path: `${at}.${key}${label}`, message: `expected a mapping, got ${describe(block)}` });
      continue;
    }
    for (const [field, v] of Object.entries(block)) {
      const f = spec.fields[field];
      if (!f) {
        problems.push({ path: `${at}.${key}.${field}${label}`, message: `unknown key; expected one of: ${Object.keys(spec.fields).join(', ')}` });
        continue;
      }
      checkField(f.kind, v, `${at}.${key}.${field}`, key as 'and' | 'drop' | 'composite', problems);
    }
  }
  if (typeof type === 'string' && allowed.includes(type) && type !== 'always_sample') {
    const block = raw[type];
    const spec = POLICY_BLOCKS[type];
    for (const [field, f] of Object.entries(spec.fields)) {
      if (f.required && (!isMapping(block) || block[field] === undefined)) {
        problems.push({ path: `${at}.${type}.${field}${label}`, message: `required for a ${type} policy` });
      }
    }
    if (isMapping(block)) checkSemantics(type, block, `${at}.${type}`, problems);
  }
}

function checkSemantics(type: string, block: Record<string, unknown>, at: string, problems: PolicyProblem[]): void {
  if (type === 'status_code' && Array.isArray(block.status_codes)) {
    if (block.status_codes.length === 0) problems.push({ path: `${at}.status_codes`, message: 'expected at least one status code' });
    block.status_codes.forEach((c, i) => {
      if (typeof c === 'string' && !(c in STATUS_NAMES)) problems.push({ path: `${at}.status_codes[${i}]`, message: `unknown status code "${c}"; expected OK, ERROR or UNSET` });
    });
  }
  if (type === 'string_attribute' && block.enabled_regex_matching === true && Array.isArray(block.values)) {
    block.values.forEach((v, i) => {
      try {
        new RegExp(String(v));
      } catch (e) {
        problems.push({ path: `${at}.values[${i}]`, message: `invalid regular expression: ${(e as Error).message}` });
      }
    });
  }
  if (type === 'probabilistic' && typeof block.sampling_percentage === 'number' && (block.sampling_percentage < 0 || block.sampling_percentage > 100)) {
    problems.push({ path: `${at}.sampling_percentage`, message: 'expected a percentage between 0 and 100' });
  }
  if (type === 'latency' && Number.isInteger(block.upper_threshold_ms) && (block.upper_threshold_ms as number) !== 0 && (block.upper_threshold_ms as number) < ((block.threshold_ms as number) ?? 0)) {
    problems.push({ path: `${at}.upper_threshold_ms`, message: 'must be 0 (no upper bound) or at least threshold_ms' });
  }
  if (type === 'span_count' && Number.isInteger(block.max_spans) && (block.max_spans as number) !== 0 && (block.max_spans as number) < ((block.min_spans as number) ?? 0)) {
    problems.push({ path: `${at}.max_spans`, message: 'must be 0 (no upper bound) or at least min_spans' });
  }
  if (type === 'composite' && Array.isArray(block.composite_sub_policy)) {
    const names = new Set(block.composite_sub_policy.map((p) => (isMapping(p) ? p.name : undefined)));
    if (Array.isArray(block.policy_order)) {
      block.policy_order.forEach((n, i) => {
        if (!names.has(n)) problems.push({ path: `${at}.policy_order[${i}]`, message: `"${n}" names no composite_sub_policy` });
      });
    }
    if (Array.isArray(block.rate_allocation)) {
      let total = 0;
      block.rate_allocation.forEach((a, i) => {
        if (!isMapping(a)) return;
        if (typeof a.policy === 'string' && !names.has(a.policy)) problems.push({ path: `${at}.rate_allocation[${i}].policy`, message: `"${a.policy}" names no composite_sub_policy` });
        if (typeof a.percent === 'number') total += a.percent;
      });
      if (total > 100) problems.push({ path: `${at}.rate_allocation`, message: `percentages add up to ${total}, more than 100` });
    }
  }
}

function checkPolicyList(list: unknown[], at: string, allowed: string[], problems: PolicyProblem[]): void {
  const seen = new Set<string>();
  list.forEach((p, i) => {
    const path = `${at}[${i}]`;
    checkPolicy(p, path, allowed, problems);
    if (isMapping(p) && typeof p.name === 'string') {
      if (seen.has(p.name)) problems.push({ path: `${path}.name`, message: `duplicate policy name "${p.name}"` });
      seen.add(p.name);
    }
  });
}

/** Every problem in a `policies` list, each with its key path (`policies[2].latency.threshold_ms`). */
export function checkPolicies(v: unknown): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  if (!Array.isArray(v)) return [{ path: 'policies', message: `expected a list of policies, got ${describe(v)}` }];
  if (v.length === 0) return [{ path: 'policies', message: 'at least one policy is required (the Collector has no default either)' }];
  checkPolicyList(v, 'policies', TOP_TYPES, problems);
  return problems;
}

/** Fills each policy block with the Collector's zero values, recursively. */
export function withDefaults(p: PolicyConfig): PolicyConfig {
  const out: Record<string, unknown> = { name: p.name, type: p.type };
  const spec = POLICY_BLOCKS[p.type];
  if (spec) {
    const given = ((p as unknown as Record<string, unknown>)[p.type] ?? {}) as Record<string, unknown>;
    const block: Record<string, unknown> = {};
    for (const [field, f] of Object.entries(spec.fields)) {
      const v = given[field] ?? f.default;
      block[field] = f.kind === 'policies' ? (v as PolicyConfig[]).map(withDefaults) : v;
    }
    out[p.type] = block;
  }
  return out as unknown as PolicyConfig;
}

/** Go YAML accepts `100_000`; the YAML 1.2 parser here gives the string "100_000". */
function cacheSize(v: unknown): void {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return;
  if (typeof v === 'string' && /^\d[\d_]*$/.test(v)) return;
  throw new Error('must be a non-negative integer (100_000 is accepted)');
}

export function toCount(v: number | string): number {
  return typeof v === 'number' ? v : Number(v.replace(/_/g, ''));
}

export const schema: ConfigSchema = {
  decision_wait: {
    doc: 'time from the first span of a trace to its sampling decision',
    format: 'duration',
    default: '30s',
  },
  num_traces: {
    doc: 'traces held in memory (undecided plus recently decided); the oldest is dropped when a new one would exceed it',
    format: 'nat',
    default: 50000,
  },
  expected_new_traces_per_sec: {
    doc: 'accepted for Collector compatibility; sizes nothing here (JavaScript maps grow by themselves)',
    format: 'nat',
    default: 0,
  },
  decision_cache: {
    sampled_cache_size: {
      doc: 'trace ids whose "keep" decision is remembered after their spans left memory; 0 turns the cache off',
      format: cacheSize,
      // a string default keeps convict from parseFloat-ing "100_000" into 100
      default: '0',
    },
    non_sampled_cache_size: {
      doc: 'trace ids whose "drop" decision is remembered after their spans left memory; 0 turns the cache off',
      format: cacheSize,
      // a string default keeps convict from parseFloat-ing "100_000" into 100
      default: '0',
    },
  },
  sample_on_first_match: {
    doc: 'stop evaluating policies at the first one that samples',
    format: Boolean,
    default: false,
  },
  drop_pending_traces_on_shutdown: {
    doc: 'at shutdown drop undecided traces instead of deciding on what arrived',
    format: Boolean,
    default: false,
  },
  policies: {
    doc: 'sampling policies, as in the Collector: each has name, type and the block named by its type',
    format: (v: unknown) => {
      const problems = checkPolicies(v);
      if (problems.length) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    },
    // convict would print the whole list after the message; the message already names the key
    sensitive: true,
    default: [],
  },
};
