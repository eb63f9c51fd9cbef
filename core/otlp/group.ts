/**
 * Grouping of items under their resource and scope, as OTLP nests them
 * (ResourceSpans → ScopeSpans → Span), and espan's own SDK identity.
 */
import type { AttributeValue, Attributes, InstrumentationScope, MetricPoint, Resource } from '../signals';

export const ESPAN_SDK = {
  'telemetry.sdk.name': 'espan',
  'telemetry.sdk.language': 'nodejs',
  'telemetry.sdk.version': '0.1.0',
} as const;

export interface ScopeGroup<T> {
  scope: InstrumentationScope;
  items: readonly T[];
}

export interface ResourceGroup<T> {
  resource: Resource;
  scopes: ScopeGroup<T>[];
}

/** A canonical text of a value: equal attribute sets give equal keys whatever their key order. */
function valueKey(v: AttributeValue): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isInteger(v) ? `i${v}` : `d${v}`;
    case 'bigint':
      return `i${v}`;
    case 'boolean':
      return v ? 'T' : 'F';
    default:
      if (v instanceof Uint8Array) return `b${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
      if (Array.isArray(v)) return `[${v.map(valueKey).join(',')}]`;
      return attributesKey(v as Attributes);
  }
}

function attributesKey(attrs: Attributes | undefined): string {
  if (!attrs) return '{}';
  const keys = Object.keys(attrs).sort();
  let s = '{';
  for (const k of keys) s += `${JSON.stringify(k)}:${valueKey(attrs[k])},`;
  return s + '}';
}

const identified = new WeakMap<Resource, Resource>();

/**
 * The resource as exported: espan's telemetry.sdk.* added when the resource
 * names no SDK. Spans received from an SDK over OTLP keep their own SDK's
 * identity; spans espan made say espan, not the OpenTelemetry JS SDK.
 */
export function withSdkIdentity(resource: Resource): Resource {
  let out = identified.get(resource);
  if (out) return out;
  out = resource.attributes['telemetry.sdk.name'] !== undefined ? resource : { ...resource, attributes: { ...ESPAN_SDK, ...resource.attributes } };
  identified.set(resource, out);
  return out;
}

/**
 * Items that all share one resource and one scope object (an agent's batch
 * of one process's spans) as the one group they make, holding the items
 * themselves rather than a copy; undefined otherwise.
 */
function oneGroup<T extends { resource: Resource; scope: InstrumentationScope }>(items: readonly T[]): ResourceGroup<T>[] | undefined {
  if (items.length === 0) return undefined;
  const { resource, scope } = items[0];
  for (let i = 1; i < items.length; i++) if (items[i].resource !== resource || items[i].scope !== scope) return undefined;
  return [{ resource, scopes: [{ scope, items }] }];
}

/**
 * One group per distinct resource, one scope group per distinct scope inside it.
 * Spans of one process share a Resource object, so identity is tried first and
 * attribute sets are compared only once per distinct object.
 */
export function groupByResource<T extends { resource: Resource; scope: InstrumentationScope }>(items: readonly T[]): ResourceGroup<T>[] {
  const single = oneGroup(items);
  if (single) return single;
  const byObject = new Map<Resource, Map<InstrumentationScope, T[]>>();
  // runs of items from one process share resource and scope: the list of the item before is tried first
  let lastResource: Resource | undefined;
  let lastScope: InstrumentationScope | undefined;
  let lastList: T[] = [];
  for (const item of items) {
    if (item.resource === lastResource && item.scope === lastScope) {
      lastList.push(item);
      continue;
    }
    let scopes = byObject.get(item.resource);
    if (!scopes) byObject.set(item.resource, (scopes = new Map()));
    let list = scopes.get(item.scope);
    if (list) list.push(item);
    else scopes.set(item.scope, (list = [item]));
    lastResource = item.resource;
    lastScope = item.scope;
    lastList = list;
  }
  const byKey = new Map<string, { resource: Resource; scopes: Map<string, { scope: InstrumentationScope; items: T[] }> }>();
  for (const [resource, scopes] of byObject) {
    const rkey = `${attributesKey(resource.attributes)}|${resource.droppedAttributesCount ?? 0}`;
    let group = byKey.get(rkey);
    if (!group) byKey.set(rkey, (group = { resource, scopes: new Map() }));
    for (const [scope, list] of scopes) {
      const skey = `${scope.name}|${scope.version ?? ''}|${attributesKey(scope.attributes)}`;
      const sg = group.scopes.get(skey);
      if (sg) for (const x of list) sg.items.push(x);
      else group.scopes.set(skey, { scope, items: list });
    }
  }
  return [...byKey.values()].map((g) => ({ resource: g.resource, scopes: [...g.scopes.values()] }));
}

/**
 * Fields a metric point may carry beyond the core type: read defensively so
 * producers can add them without a change here.
 */
export type PointWithStream = MetricPoint & { temporality?: 'cumulative' | 'delta'; monotonic?: boolean };

/** Points of one metric stream (same name, kind, unit, temporality) under one scope become one Metric. */
export function metricStreams(points: readonly PointWithStream[]): PointWithStream[][] {
  const byStream = new Map<string, PointWithStream[]>();
  for (const p of points) {
    const key = `${p.name}|${p.kind}|${p.unit ?? ''}|${p.temporality ?? ''}|${p.monotonic ?? ''}`;
    const list = byStream.get(key);
    if (list) list.push(p);
    else byStream.set(key, [p]);
  }
  return [...byStream.values()];
}
