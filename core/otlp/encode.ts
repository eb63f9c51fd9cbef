/**
 * espan spans and metric points to OTLP protobuf bytes, as the exporters send
 * them. Written with the hand-written ProtoWriter (write-trace.ts,
 * write-metrics.ts); test/otlp/reference.ts holds the protobufjs encoders
 * they are tested and benchmarked against.
 */
import type { MetricPoint, Span, Trace } from '../signals';
import { writeMetricsRequest } from './write-metrics';
import { recycleTraceRequest, writeTraceRequest } from './write-trace';

export function encodeTraceRequest(spans: readonly Span[]): Uint8Array {
  return writeTraceRequest(spans);
}

/**
 * Hands back the bytes of a trace request once nothing reads them any more
 * (sent, and the receiver answered): a large request's buffer is then written
 * again by a later request instead of a fresh one being allocated. The caller
 * must not read or keep the bytes afterwards.
 */
export function releaseTraceRequest(bytes: Uint8Array): void {
  recycleTraceRequest(bytes);
}

export function encodeMetricsRequest(points: readonly MetricPoint[]): Uint8Array {
  return writeMetricsRequest(points);
}

/** Traces are exported as their spans. */
export function flattenTraces(traces: readonly Trace[]): Span[] {
  const out: Span[] = [];
  for (const t of traces) for (const s of t.spans) out.push(s);
  return out;
}
