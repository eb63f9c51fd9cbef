/**
 * ExportMetricsServiceRequest bytes written straight from espan's metric
 * points with ProtoWriter, one Metric per metric stream (group.ts).
 * Field numbers are those of proto/opentelemetry/proto/{collector/metrics,metrics}/v1.
 */
import type { MetricPoint } from '../signals';
import { groupByResource, metricStreams, type PointWithStream } from './group';
import { ProtoWriter, tagOf } from './proto-writer';
import { writeKeyValues, writeResource, writeScope } from './write-trace';

/** OTLP AggregationTemporality */
const TEMPORALITY = { delta: 1, cumulative: 2 } as const;

// ExportMetricsServiceRequest
const REQUEST_RESOURCE_METRICS = tagOf.len(1);
// ResourceMetrics
const RESOURCE_METRICS_RESOURCE = tagOf.len(1);
const RESOURCE_METRICS_SCOPE_METRICS = tagOf.len(2);
// ScopeMetrics
const SCOPE_METRICS_SCOPE = tagOf.len(1);
const SCOPE_METRICS_METRICS = tagOf.len(2);
// Metric
const METRIC_NAME = tagOf.len(1);
const METRIC_DESCRIPTION = tagOf.len(2);
const METRIC_UNIT = tagOf.len(3);
const METRIC_GAUGE = tagOf.len(5);
const METRIC_SUM = tagOf.len(7);
const METRIC_HISTOGRAM = tagOf.len(9);
// Gauge, Sum, Histogram
const DATA_POINTS = tagOf.len(1);
const AGGREGATION_TEMPORALITY = tagOf.varint(2);
const SUM_IS_MONOTONIC = tagOf.varint(3);
// NumberDataPoint
const NUMBER_START = tagOf.fixed64(2);
const NUMBER_TIME = tagOf.fixed64(3);
const NUMBER_AS_DOUBLE = tagOf.fixed64(4);
const NUMBER_AS_INT = tagOf.fixed64(6); // sfixed64
const NUMBER_ATTRIBUTES = tagOf.len(7);
// HistogramDataPoint
const HISTOGRAM_START = tagOf.fixed64(2);
const HISTOGRAM_TIME = tagOf.fixed64(3);
const HISTOGRAM_COUNT = tagOf.fixed64(4);
const HISTOGRAM_SUM = tagOf.fixed64(5);
const HISTOGRAM_BUCKET_COUNTS = tagOf.len(6);
const HISTOGRAM_EXPLICIT_BOUNDS = tagOf.len(7);
const HISTOGRAM_ATTRIBUTES = tagOf.len(9);
const HISTOGRAM_MIN = tagOf.fixed64(11);
const HISTOGRAM_MAX = tagOf.fixed64(12);

const SMALL = 1;
const METRIC = 2;
const GROUP = 3;

function writeNumberPoint(w: ProtoWriter, p: MetricPoint): void {
  const m = w.begin(DATA_POINTS, SMALL);
  w.byte(NUMBER_START);
  w.fixed64(p.startTimeUnixNano);
  w.byte(NUMBER_TIME);
  w.fixed64(p.timeUnixNano);
  const v = p.value ?? 0;
  // the value oneof is written even when zero: a zero count is a value, not an absent one
  if (Number.isSafeInteger(v)) {
    w.byte(NUMBER_AS_INT);
    w.fixed64Number(v);
  } else {
    w.byte(NUMBER_AS_DOUBLE);
    w.double(v);
  }
  writeKeyValues(w, NUMBER_ATTRIBUTES, p.attributes);
  w.end(m);
}

/** sum, min and max are proto3 `optional`: written whenever the point has them, zero included. */
function optionalDouble(w: ProtoWriter, tag: number, v: number | undefined): void {
  if (v === undefined) return;
  w.byte(tag);
  w.double(v);
}

function writeHistogramPoint(w: ProtoWriter, p: MetricPoint): void {
  const m = w.begin(DATA_POINTS, METRIC);
  w.byte(HISTOGRAM_START);
  w.fixed64(p.startTimeUnixNano);
  w.byte(HISTOGRAM_TIME);
  w.fixed64(p.timeUnixNano);
  if (p.count) {
    w.byte(HISTOGRAM_COUNT);
    w.fixed64Number(p.count);
  }
  optionalDouble(w, HISTOGRAM_SUM, p.sum);
  w.packedFixed64(HISTOGRAM_BUCKET_COUNTS, p.bucketCounts ?? []);
  w.packedDouble(HISTOGRAM_EXPLICIT_BOUNDS, p.explicitBounds ?? []);
  writeKeyValues(w, HISTOGRAM_ATTRIBUTES, p.attributes);
  optionalDouble(w, HISTOGRAM_MIN, p.min);
  optionalDouble(w, HISTOGRAM_MAX, p.max);
  w.end(m);
}

function writeMetric(w: ProtoWriter, points: readonly PointWithStream[]): void {
  const first = points[0];
  const m = w.begin(SCOPE_METRICS_METRICS, METRIC);
  if (first.name) w.string(METRIC_NAME, first.name);
  if (first.description) w.string(METRIC_DESCRIPTION, first.description);
  if (first.unit) w.string(METRIC_UNIT, first.unit);
  const temporality = TEMPORALITY[first.temporality ?? 'cumulative'];
  if (first.kind === 'histogram') {
    const h = w.begin(METRIC_HISTOGRAM, METRIC);
    for (const p of points) writeHistogramPoint(w, p);
    w.byte(AGGREGATION_TEMPORALITY);
    w.varint32(temporality);
    w.end(h);
  } else if (first.kind === 'sum') {
    const s = w.begin(METRIC_SUM, METRIC);
    for (const p of points) writeNumberPoint(w, p);
    w.byte(AGGREGATION_TEMPORALITY);
    w.varint32(temporality);
    if (first.monotonic ?? true) {
      w.byte(SUM_IS_MONOTONIC);
      w.byte(1);
    }
    w.end(s);
  } else {
    const g = w.begin(METRIC_GAUGE, METRIC);
    for (const p of points) writeNumberPoint(w, p);
    w.end(g);
  }
  w.end(m);
}

const shared = new ProtoWriter(16 * 1024);

/** ExportMetricsServiceRequest bytes for the points, grouped by resource, scope and stream. */
export function writeMetricsRequest(points: readonly MetricPoint[], w: ProtoWriter = shared): Buffer {
  w.reset();
  try {
    for (const g of groupByResource(points)) {
      const rm = w.begin(REQUEST_RESOURCE_METRICS, GROUP);
      writeResource(w, RESOURCE_METRICS_RESOURCE, g.resource);
      for (const sg of g.scopes) {
        const sm = w.begin(RESOURCE_METRICS_SCOPE_METRICS, GROUP);
        writeScope(w, SCOPE_METRICS_SCOPE, sg.scope);
        for (const stream of metricStreams(sg.items)) writeMetric(w, stream);
        w.end(sm);
      }
      w.end(rm);
    }
    return w.finish();
  } finally {
    w.reset();
  }
}
