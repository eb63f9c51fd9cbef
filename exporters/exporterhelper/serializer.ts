/**
 * Batches to OTLP request bytes. An exporter picks the serializer of each
 * signal once, from the signal and its encoding, so sending never asks which
 * one applies; the queue keeps the bytes and every retry sends the same ones.
 */
import { encodeMetricsRequest, encodeTraceRequest } from '../../core/otlp/encode';
import { metricsToOtlpJson, stringifyOtlp, toOtlpJson } from '../../core/otlp/json';
import type { MetricPoint, Span } from '../../core/signals';
import type { OtlpSignal } from './transport';

export type OtlpEncoding = 'proto' | 'json';

/** Spans for traces, metric points for metrics. */
export type Serializer = (items: readonly unknown[]) => Uint8Array;

const SERIALIZERS: Record<OtlpSignal, Record<OtlpEncoding, Serializer>> = {
  traces: {
    proto: (items) => encodeTraceRequest(items as Span[]),
    json: (items) => Buffer.from(stringifyOtlp(toOtlpJson(items as Span[])), 'utf8'),
  },
  metrics: {
    proto: (items) => encodeMetricsRequest(items as MetricPoint[]),
    json: (items) => Buffer.from(stringifyOtlp(metricsToOtlpJson(items as MetricPoint[])), 'utf8'),
  },
};

export function otlpSerializer(signal: OtlpSignal, encoding: OtlpEncoding): Serializer {
  return SERIALIZERS[signal][encoding];
}
