/**
 * Batches to OTLP request bytes. An exporter picks the serializer of each
 * signal once, from the signal and its encoding, so sending never asks which
 * one applies; the queue keeps the bytes and every retry sends the same ones.
 */
import { encodeMetricsRequest, encodeTraceRequest, releaseTraceRequest } from '../../core/otlp/encode';
import { metricsToOtlpJson, stringifyOtlp, toOtlpJson } from '../../core/otlp/json';
import type { MetricPoint, Span } from '../../core/signals';
import type { OtlpSignal } from './transport';

export type OtlpEncoding = 'proto' | 'json';

/** Spans for traces, metric points for metrics. */
export type Serializer = (items: readonly unknown[]) => Uint8Array;

/** Takes back bytes a serializer made once the request they were sent in was answered; the caller drops them. */
export type Releaser = (body: Uint8Array) => void;

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

/** What takes back the bytes of the serializer of `signal` and `encoding`, where reusing them pays (large protobuf trace requests). */
export function otlpReleaser(signal: OtlpSignal, encoding: OtlpEncoding): Releaser | undefined {
  return signal === 'traces' && encoding === 'proto' ? releaseTraceRequest : undefined;
}
