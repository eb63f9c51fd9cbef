/**
 * Text renderings of each signal for the debug exporter. `detailed` traces are
 * indented trees with durations, as a person reads a trace.
 */
import { FUNC_NAMES } from '../../core/records/network-data';
import { maskHttpHeaderValues, redactTarget } from '../../core/redaction';
import { SpanKind, StatusCode, type AttributeValue, type L7Message, type MetricPoint, type NetworkRecord, type Span, type Trace } from '../../core/signals';

function durationText(ns: bigint | number): string {
  const n = Number(ns);
  if (n < 1e3) return `${n}ns`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}µs`;
  if (n < 1e9) return `${(n / 1e6).toFixed(2)}ms`;
  return `${(n / 1e9).toFixed(3)}s`;
}

function valueText(v: AttributeValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (Array.isArray(v)) return `[${v.map(valueText).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${valueText(x)}`).join(', ')}}`;
  return String(v);
}

function serviceOf(s: Span): string {
  const n = s.resource.attributes['service.name'];
  return typeof n === 'string' ? n : '?';
}

function spanLine(s: Span, withAttributes: boolean): string {
  const kind = SpanKind[s.kind] ?? String(s.kind);
  const status = s.status.code === StatusCode.ERROR ? ` ERROR${s.status.message ? `(${s.status.message})` : ''}` : '';
  let line = `${kind} ${s.name}  ${durationText(s.endTimeUnixNano - s.startTimeUnixNano)}  [${serviceOf(s)}]${status}`;
  if (withAttributes) {
    const attrs = Object.entries(s.attributes).filter(([k]) => !k.startsWith('espan.'));
    if (attrs.length) line += '  ' + attrs.map(([k, v]) => `${k}=${valueText(v)}`).join(' ');
  }
  return line;
}

/** One trace as a tree: children under parents, siblings by start time. */
export function traceTree(trace: Trace): string[] {
  const ids = new Set(trace.spans.map((s) => s.spanId));
  const children = new Map<string, Span[]>();
  const roots: Span[] = [];
  for (const s of trace.spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId) && s.parentSpanId !== s.spanId) {
      let list = children.get(s.parentSpanId);
      if (!list) children.set(s.parentSpanId, (list = []));
      list.push(s);
    } else roots.push(s);
  }
  const byStart = (a: Span, b: Span) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0);
  let start = trace.spans[0]?.startTimeUnixNano ?? 0n;
  let end = start;
  for (const s of trace.spans) {
    if (s.startTimeUnixNano < start) start = s.startTimeUnixNano;
    if (s.endTimeUnixNano > end) end = s.endTimeUnixNano;
  }
  const lines = [`Trace ${trace.traceId} (${trace.spans.length} span${trace.spans.length === 1 ? '' : 's'}, ${durationText(end - start)})`];
  const seen = new Set<string>();
  const walk = (s: Span, prefix: string, last: boolean): void => {
    lines.push(`${prefix}${last ? '└─ ' : '├─ '}${spanLine(s, true)}`);
    if (seen.has(s.spanId)) return; // a cycle in bad input must not loop forever
    seen.add(s.spanId);
    const kids = (children.get(s.spanId) ?? []).sort(byStart);
    kids.forEach((k, i) => walk(k, prefix + (last ? '   ' : '│  '), i === kids.length - 1));
  };
  roots.sort(byStart).forEach((r, i) => walk(r, '', i === roots.length - 1));
  return lines;
}

/** Spans without linking: grouped by trace id where they have one. */
export function spansAsTraces(spans: Span[]): Trace[] {
  const by = new Map<string, Span[]>();
  for (const s of spans) {
    const key = s.traceId || `(unlinked ${s.spanId})`;
    let list = by.get(key);
    if (!list) by.set(key, (list = []));
    list.push(s);
  }
  return [...by].map(([traceId, list]) => ({ traceId, spans: list }));
}

export function spanText(s: Span, detailed: boolean): string {
  const head = `span ${s.traceId || '-'}/${s.spanId}${s.parentSpanId ? ` parent ${s.parentSpanId}` : ''} ${spanLine(s, !detailed)}`;
  if (!detailed) return head;
  const attrs = Object.entries(s.attributes).map(([k, v]) => `    ${k}: ${valueText(v)}`);
  const res = Object.entries(s.resource.attributes).map(([k, v]) => `    resource ${k}: ${valueText(v)}`);
  return [head, ...attrs, ...res].join('\n');
}

function hexDump(bytes: Uint8Array, max: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < Math.min(bytes.length, max); i += 16) {
    const row = bytes.subarray(i, Math.min(i + 16, bytes.length, max));
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`    ${i.toString(16).padStart(4, '0')}  ${hex.padEnd(47)}  ${text}`);
  }
  return lines;
}

/** host:port, with IPv6 hosts in brackets so the port stays readable. */
function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export function recordText(r: NetworkRecord, detailed: boolean): string {
  const trunc = r.actSize < r.bufLen ? ` (captured ${r.actSize})` : '';
  const head =
    `record ${FUNC_NAMES[r.funcId] ?? r.funcId} pid=${r.pid} tid=${r.tid} comm=${r.comm} fd=${r.fd} ` +
    `${endpoint(r.saddr, r.sport)} -> ${endpoint(r.daddr, r.dport)} seq=${r.tcpSeq} idx=${r.index} len=${r.bufLen}${trunc} ` +
    `dur=${durationText(r.tsTail - r.ts)}`;
  return detailed ? [head, ...hexDump(maskHttpHeaderValues(r.payload), 256)].join('\n') : head;
}

export function messageText(m: L7Message): string {
  const dur = m.respEnd !== undefined ? durationText(m.respEnd - m.reqStart) : 'no response';
  const what = m.http
    ? `${m.http.method} ${redactTarget(m.http.target)}${m.http.status !== undefined ? ` -> ${m.http.status}` : ''}`
    : m.redis
      ? `${m.redis.command} db=${m.redis.db}${m.redis.errorPrefix ? ` -> ${m.redis.errorPrefix}` : ''}`
      : m.mysql
        ? `${m.mysql.command} ${m.mysql.sql ?? ''}${m.mysql.errorCode ? ` -> ERR ${m.mysql.errorCode}` : ''}`
        : '';
  return `${m.protocol} ${m.role} pid=${m.pid} tid=${m.tid} ${endpoint(m.saddr, m.sport)} -> ${endpoint(m.daddr, m.dport)} ${what} (${dur}, ${m.outcome})`;
}

export function metricText(p: MetricPoint): string {
  const attrs = Object.entries(p.attributes).map(([k, v]) => `${k}=${valueText(v)}`).join(' ');
  const v = p.kind === 'histogram' ? `count=${p.count} sum=${p.sum}` : `value=${p.value}`;
  return `metric ${p.name} ${attrs} ${v}`;
}
