/**
 * Configuration of `tail_sampling`, key for key the OpenTelemetry Collector's
 * (processor/tailsamplingprocessor/config.go), so a Collector block loads
 * unchanged. Each policy type's block is described once, with settings (next
 * to its policy; here for those holding sub-policies). `policies` is a
 * free-form list in YAML: its convict format checks every policy, each block
 * with resolveConfig as a component's config is checked, and names the exact
 * key path of every problem.
 */
import { resolveConfig, setting, type ConfigOf, type ConfigProblem, type SettingsSchema } from '../../core/config/schema';
import { booleanAttributeBlock } from './policies/boolean_attribute';
import { latencyBlock } from './policies/latency';
import { numericAttributeBlock } from './policies/numeric_attribute';
import { probabilisticBlock } from './policies/probabilistic';
import { propagatedBlock } from './policies/propagated';
import { rateLimitingBlock } from './policies/rate_limiting';
import { spanCountBlock } from './policies/span_count';
import { STATUS_NAMES, statusCodeBlock } from './policies/status_code';
import { stringAttributeBlock } from './policies/string_attribute';
import { traceStateBlock } from './policies/trace_state';

/** A list of sub-policies: the setting says it is a list, checkPolicyList checks its policies. */
const subPolicies = (doc: string) => setting.custom<PolicyConfig[]>(Array, [], doc);

const rateAllocationItem = {
  policy: setting.string('', 'a composite_sub_policy name'),
  percent: setting.int(0, 'its percentage of max_total_spans_per_second; 0: an equal share'),
};

/** Per-policy blocks, with the Collector's zero values as defaults. */
export const POLICY_BLOCKS = {
  latency: latencyBlock,
  numeric_attribute: numericAttributeBlock,
  probabilistic: probabilisticBlock,
  status_code: statusCodeBlock,
  string_attribute: stringAttributeBlock,
  rate_limiting: rateLimitingBlock,
  span_count: spanCountBlock,
  trace_state: traceStateBlock,
  boolean_attribute: booleanAttributeBlock,
  propagated: propagatedBlock,
  and: { and_sub_policy: subPolicies('policies that must all sample (required)') },
  drop: { drop_sub_policy: subPolicies('policies that, all sampling, drop the trace (required)') },
  composite: {
    max_total_spans_per_second: setting.int(0, 'spans per second sampled by all sub-policies together'),
    policy_order: setting.stringList([], 'sub-policy names; checked, otherwise unused, as in the Collector'),
    composite_sub_policy: subPolicies('the sub-policies, asked in this order (required)'),
    rate_allocation: setting.custom<Array<ConfigOf<typeof rateAllocationItem>>>(Array, [], 'shares of max_total_spans_per_second: [{policy, percent}]'),
  },
};

type PolicyBlocks = typeof POLICY_BLOCKS;
type PolicyBlockType = keyof PolicyBlocks;

export interface PolicyConfig extends Partial<{ [T in PolicyBlockType]: ConfigOf<PolicyBlocks[T]> }> {
  name: string;
  type: string;
}

/** Keys the block of a policy's own type must set. */
const REQUIRED: Partial<Record<PolicyBlockType, string[]>> = {
  numeric_attribute: ['key'],
  status_code: ['status_codes'],
  string_attribute: ['key'],
  trace_state: ['key'],
  boolean_attribute: ['key'],
  and: ['and_sub_policy'],
  drop: ['drop_sub_policy'],
  composite: ['composite_sub_policy'],
};

/** The key of each block holding sub-policies. */
const SUB_POLICIES: Partial<Record<PolicyBlockType, string>> = { and: 'and_sub_policy', drop: 'drop_sub_policy', composite: 'composite_sub_policy' };

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

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isBlockType(key: string): key is PolicyBlockType {
  return Object.hasOwn(POLICY_BLOCKS, key);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The problems resolveConfig finds in a block, with their paths under `at` and the policy named. */
function checkBlock(schema: SettingsSchema, block: unknown, at: string, label: string, problems: ConfigProblem[]): boolean {
  const found = resolveConfig(schema, block).problems;
  for (const p of found) problems.push({ path: `${p.path === '(block)' ? at : `${at}.${p.path}`}${label}`, message: p.message });
  return found.length === 0;
}

function checkPolicy(raw: unknown, at: string, allowed: string[], problems: ConfigProblem[]): void {
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
    if (!isBlockType(key)) {
      problems.push({ path: `${at}.${key}${label}`, message: `unknown key; expected name, type, or a policy block (${Object.keys(POLICY_BLOCKS).join(', ')})` });
      continue;
    }
    // The Collector accepts (and ignores) blocks of other types; only the block of `type` must be complete.
    if (block === null || block === undefined) continue;
    if (!checkBlock(POLICY_BLOCKS[key], block, `${at}.${key}`, label, problems)) continue;
    const fields = block as Record<string, unknown>; // a mapping, or checkBlock would have said so
    const subKey = SUB_POLICIES[key];
    const subs = subKey && fields[subKey];
    if (Array.isArray(subs)) checkPolicyList(subs, `${at}.${key}.${subKey}`, key === 'composite' ? COMPOSITE_SUB_TYPES : SHARED_TYPES, problems);
    if (key === 'composite' && Array.isArray(fields.rate_allocation)) {
      fields.rate_allocation.forEach((a, i) => {
        const itemAt = `${at}.${key}.rate_allocation[${i}]`;
        if (checkBlock(rateAllocationItem, a, itemAt, label, problems) && isMapping(a) && a.policy === undefined) {
          problems.push({ path: `${itemAt}.policy${label}`, message: 'required: the composite_sub_policy this share is for' });
        }
      });
    }
  }
  if (typeof type === 'string' && allowed.includes(type) && isBlockType(type)) {
    const block = raw[type];
    for (const field of REQUIRED[type] ?? []) {
      if (!isMapping(block) || block[field] === undefined) problems.push({ path: `${at}.${type}.${field}${label}`, message: `required for a ${type} policy` });
    }
    if (isMapping(block)) checkSemantics(type, block, `${at}.${type}`, problems);
  }
}

function checkSemantics(type: string, block: Record<string, unknown>, at: string, problems: ConfigProblem[]): void {
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

function checkPolicyList(list: unknown[], at: string, allowed: string[], problems: ConfigProblem[]): void {
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
export function checkPolicies(v: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!Array.isArray(v)) return [{ path: 'policies', message: `expected a list of policies, got ${describe(v)}` }];
  if (v.length === 0) return [{ path: 'policies', message: 'at least one policy is required (the Collector has no default either)' }];
  checkPolicyList(v, 'policies', TOP_TYPES, problems);
  return problems;
}

/** Fills each policy block with the Collector's zero values, recursively. */
export function withDefaults(p: PolicyConfig): PolicyConfig {
  const out: PolicyConfig = { name: p.name, type: p.type };
  if (!isBlockType(p.type)) return out;
  const block = resolveConfig<Record<string, unknown>>(POLICY_BLOCKS[p.type], p[p.type]).config!;
  const subKey = SUB_POLICIES[p.type];
  if (subKey) block[subKey] = (block[subKey] as PolicyConfig[]).map(withDefaults);
  if (p.type === 'composite') block.rate_allocation = (block.rate_allocation as unknown[]).map((a) => resolveConfig(rateAllocationItem, a).config);
  return { ...out, [p.type]: block };
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

export const schema = {
  decision_wait: setting.duration('30s', 'time from the first span of a trace to its sampling decision'),
  num_traces: setting.nat(50000, 'traces held in memory (undecided plus recently decided); the oldest is dropped when a new one would exceed it'),
  expected_new_traces_per_sec: setting.nat(0, 'accepted for Collector compatibility; sizes nothing here (JavaScript maps grow by themselves)'),
  decision_cache: {
    // string defaults keep convict from parseFloat-ing "100_000" into 100
    sampled_cache_size: setting.custom<number | string>(cacheSize, '0', 'trace ids whose "keep" decision is remembered after their spans left memory; 0 turns the cache off'),
    non_sampled_cache_size: setting.custom<number | string>(cacheSize, '0', 'trace ids whose "drop" decision is remembered after their spans left memory; 0 turns the cache off'),
  },
  sample_on_first_match: setting.bool(false, 'stop evaluating policies at the first one that samples'),
  drop_pending_traces_on_shutdown: setting.bool(false, 'at shutdown drop undecided traces instead of deciding on what arrived'),
  policies: {
    ...setting.custom<PolicyConfig[]>(
      (v: unknown) => {
        const problems = checkPolicies(v);
        if (problems.length) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
      },
      [],
      'sampling policies, as in the Collector: each has name, type and the block named by its type',
    ),
    // convict would print the whole list after the message; the message already names the key
    sensitive: true,
  },
};

/** decision_wait in milliseconds */
export type TailSamplingConfig = ConfigOf<typeof schema>;
