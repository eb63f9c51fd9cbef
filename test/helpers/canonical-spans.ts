/**
 * What a file exporter's OTLP/JSON output says, span by span, independent of
 * batching and of the order spans left in: one sorted line per exported span
 * (ids, parent, name, kind, times, status, attributes, resource). Same
 * traces, same lines: bench/fingerprint.ts digests them, tests compare them.
 */
import { createHash } from 'node:crypto';

interface JsonKeyValue {
  key: string;
  value: unknown;
}

interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status?: unknown;
  attributes?: JsonKeyValue[];
}

function sortedAttributes(attrs: JsonKeyValue[] | undefined): string {
  return JSON.stringify([...(attrs ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
}

export function canonicalSpanLines(otlpJsonLines: string): string[] {
  const lines: string[] = [];
  for (const request of otlpJsonLines.split('\n')) {
    if (!request.trim()) continue;
    const doc = JSON.parse(request) as { resourceSpans: Array<{ resource?: { attributes?: JsonKeyValue[] }; scopeSpans: Array<{ spans: JsonSpan[] }> }> };
    for (const rs of doc.resourceSpans) {
      const resource = sortedAttributes(rs.resource?.attributes);
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          lines.push(
            [s.traceId, s.spanId, s.parentSpanId ?? '', s.name, s.kind ?? 0, s.startTimeUnixNano, s.endTimeUnixNano, JSON.stringify(s.status ?? {}), sortedAttributes(s.attributes), resource].join(' '),
          );
        }
      }
    }
  }
  return lines.sort();
}

/** The lines' digest, as bench/fingerprint.ts prints it. */
export function spanDigest(lines: readonly string[]): string {
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}
