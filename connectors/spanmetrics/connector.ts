/**
 * spans → metrics: request count, errors (the `status.code` dimension) and a
 * duration histogram per service, operation, kind and peer — the Collector's
 * spanmetrics connector, over espan's MetricPoint. One series per resource and
 * dimension set, bounded by `aggregation_cardinality_limit` (the excess goes
 * to an `otel.metric.overflow=true` series, as in the Collector).
 */
import { asyncScheduler, interval, Subject, type SchedulerLike, type Subscription } from 'rxjs';
import type { Connector } from '../../core/component';
import { ESPAN_SCOPE } from '../../core/semconv';
import { SpanKind, StatusCode, type AttributeValue, type Attributes, type Batch, type MetricPoint, type Resource, type SignalType, type Span } from '../../core/signals';

export interface Dimension {
  name: string;
  /** used when neither the span nor its resource has the attribute; without it the dimension is left out */
  default?: string;
}

export interface SpanMetricsOptions {
  namespace: string;
  /** histogram bounds, in `unit` */
  buckets: number[];
  unit: 'ms' | 's';
  histogramDisabled: boolean;
  dimensions: Dimension[];
  excludeDimensions: string[];
  flushIntervalMs: number;
  temporality: 'cumulative' | 'delta';
  cardinalityLimit: number;
  /** cumulative series not updated for this long are dropped; 0 keeps them */
  expirationMs: number;
}

const KIND_NAMES: Record<number, string> = {
  [SpanKind.UNSPECIFIED]: 'SPAN_KIND_UNSPECIFIED',
  [SpanKind.INTERNAL]: 'SPAN_KIND_INTERNAL',
  [SpanKind.SERVER]: 'SPAN_KIND_SERVER',
  [SpanKind.CLIENT]: 'SPAN_KIND_CLIENT',
  [SpanKind.PRODUCER]: 'SPAN_KIND_PRODUCER',
  [SpanKind.CONSUMER]: 'SPAN_KIND_CONSUMER',
};
const STATUS_NAMES: Record<number, string> = {
  [StatusCode.UNSET]: 'STATUS_CODE_UNSET',
  [StatusCode.OK]: 'STATUS_CODE_OK',
  [StatusCode.ERROR]: 'STATUS_CODE_ERROR',
};
const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

interface Series {
  resource: Resource;
  attributes: Attributes;
  startNs: bigint;
  lastUpdatedMs: number;
  calls: number;
  bucketCounts: number[];
  sum: number;
  min: number;
  max: number;
  dirty: boolean;
}

export class SpanMetricsConnector implements Connector<'spans', 'metrics'> {
  private readonly subject = new Subject<Batch<'metrics'>>();
  readonly output = this.subject.asObservable();
  private readonly series = new Map<string, Series>();
  private readonly resourceIds = new WeakMap<Resource, number>();
  private nextResourceId = 1;
  private readonly ticks: Subscription;
  private readonly dims: Dimension[];
  private readonly standard: { service: boolean; name: boolean; kind: boolean; status: boolean };
  private lastFlushNs: bigint;
  private stopped = false;
  /** series refused a place of their own (they counted into the overflow series) */
  overflowed = 0;

  constructor(
    private readonly opts: SpanMetricsOptions,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {
    const excluded = new Set(opts.excludeDimensions);
    this.dims = opts.dimensions.filter((d) => !excluded.has(d.name));
    this.standard = { service: !excluded.has('service.name'), name: !excluded.has('span.name'), kind: !excluded.has('span.kind'), status: !excluded.has('status.code') };
    this.lastFlushNs = this.nowNs();
    this.ticks = interval(opts.flushIntervalMs, scheduler).subscribe(() => this.emit());
  }

  consume(batch: Batch<'spans'>, signal: SignalType): void {
    if (signal !== 'spans' || this.stopped) return;
    const nowMs = this.scheduler.now();
    for (const span of batch) this.record(span, nowMs);
  }

  /** Current points (and, for delta, a reset); exposed for tests and shutdown. */
  collect(): MetricPoint[] {
    const nowMs = this.scheduler.now();
    const now = this.nowNs();
    const points: MetricPoint[] = [];
    const delta = this.opts.temporality === 'delta';
    const callsName = `${this.opts.namespace}.calls`;
    const durationName = `${this.opts.namespace}.duration`;
    for (const [key, s] of this.series) {
      if (!delta && this.opts.expirationMs > 0 && nowMs - s.lastUpdatedMs > this.opts.expirationMs) {
        this.series.delete(key);
        continue;
      }
      if (delta && !s.dirty) continue;
      const start = delta ? this.lastFlushNs : s.startNs;
      const common = { resource: s.resource, scope: ESPAN_SCOPE, attributes: s.attributes, startTimeUnixNano: start, timeUnixNano: now, temporality: this.opts.temporality };
      points.push({ name: callsName, description: 'Number of spans (requests), by status code for the error count.', unit: '{call}', kind: 'sum', value: s.calls, ...common });
      if (!this.opts.histogramDisabled) {
        points.push({
          name: durationName,
          description: 'Span (request) duration.',
          unit: this.opts.unit,
          kind: 'histogram',
          count: s.calls,
          sum: s.sum,
          bucketCounts: s.bucketCounts.slice(),
          explicitBounds: this.opts.buckets,
          min: s.min,
          max: s.max,
          ...common,
        });
      }
      s.dirty = false;
    }
    if (delta) this.series.clear();
    this.lastFlushNs = now;
    return points;
  }

  get seriesCount(): number {
    return this.series.size;
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ticks.unsubscribe();
    this.emit();
    this.subject.complete();
  }

  private emit(): void {
    const points = this.collect();
    if (points.length) this.subject.next(points);
  }

  private nowNs(): bigint {
    return BigInt(Math.round(this.scheduler.now())) * 1_000_000n;
  }

  private resourceId(r: Resource): number {
    let id = this.resourceIds.get(r);
    if (id === undefined) {
      id = this.nextResourceId++;
      this.resourceIds.set(r, id);
    }
    return id;
  }

  private record(span: Span, nowMs: number): void {
    const attrs: Attributes = {};
    let key = `${this.resourceId(span.resource)}`;
    const put = (name: string, v: AttributeValue) => {
      attrs[name] = v;
      key += `\u0000${name}=${String(v)}`;
    };
    if (this.standard.service) put('service.name', (span.resource.attributes['service.name'] as string | undefined) ?? 'unknown_service');
    if (this.standard.name) put('span.name', span.name);
    if (this.standard.kind) put('span.kind', KIND_NAMES[span.kind] ?? 'SPAN_KIND_UNSPECIFIED');
    if (this.standard.status) put('status.code', STATUS_NAMES[span.status.code] ?? 'STATUS_CODE_UNSET');
    for (const d of this.dims) {
      const v = span.attributes[d.name] ?? span.resource.attributes[d.name] ?? d.default;
      if (v !== undefined) put(d.name, v);
    }
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= this.opts.cardinalityLimit) {
        this.overflowed++;
        key = `${this.resourceId(span.resource)}\u0000${OVERFLOW_ATTRIBUTE}`;
        s = this.series.get(key);
        if (!s) {
          s = this.newSeries(span.resource, { [OVERFLOW_ATTRIBUTE]: true }, nowMs);
          // the overflow series may exceed the limit by one per resource: the limit bounds the rest
          this.series.set(key, s);
        }
      } else {
        s = this.newSeries(span.resource, attrs, nowMs);
        this.series.set(key, s);
      }
    }
    const durationNs = Number(span.endTimeUnixNano - span.startTimeUnixNano);
    const value = Math.max(0, durationNs) / (this.opts.unit === 'ms' ? 1e6 : 1e9);
    s.calls++;
    s.sum += value;
    if (value < s.min) s.min = value;
    if (value > s.max) s.max = value;
    // OTLP explicit buckets are upper-inclusive: bucket i holds (bounds[i-1], bounds[i]]
    const b = this.opts.buckets;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    s.bucketCounts[i]++;
    s.lastUpdatedMs = nowMs;
    s.dirty = true;
  }

  private newSeries(resource: Resource, attributes: Attributes, nowMs: number): Series {
    return {
      resource,
      attributes,
      startNs: BigInt(Math.round(nowMs)) * 1_000_000n,
      lastUpdatedMs: nowMs,
      calls: 0,
      bucketCounts: new Array(this.opts.buckets.length + 1).fill(0),
      sum: 0,
      min: Infinity,
      max: -Infinity,
      dirty: false,
    };
  }
}
