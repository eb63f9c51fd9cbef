/**
 * Puts the metrics of stage workers into the main registry. Each worker has
 * a registry of its own and sends snapshots of it; a counter here grows by
 * what a worker's grew since its last snapshot, and a gauge is the sum of
 * the workers' latest values, so /metrics reads as if the stages ran here.
 */
import type { Counter, Gauge } from 'prom-client';
import type { ServiceMetrics } from '../telemetry/metrics';
import type { MetricSnapshot } from './messages';

export class WorkerMetricsMerge {
  /** per worker: metric name and labels → the value last seen */
  private readonly seen: Array<Map<string, number>>;

  constructor(
    private readonly metrics: ServiceMetrics,
    workers: number,
  ) {
    this.seen = Array.from({ length: workers }, () => new Map());
  }

  add(worker: number, snapshot: readonly MetricSnapshot[]): void {
    for (const m of snapshot) {
      // A metric with no label set yet cannot say its label names.
      if ((m.type !== 'counter' && m.type !== 'gauge') || m.values.length === 0) continue;
      const target = this.target(m);
      for (const v of m.values) {
        const key = `${m.name}${JSON.stringify(v.labels)}`;
        const before = this.seen[worker].get(key) ?? 0;
        this.seen[worker].set(key, v.value);
        if (m.type === 'counter') {
          if (v.value > before) (target as Counter<string>).inc(v.labels, v.value - before);
        } else {
          let sum = 0;
          for (const seen of this.seen) sum += seen.get(key) ?? 0;
          (target as Gauge<string>).set(v.labels, sum);
        }
      }
    }
  }

  /** The main registry's metric of that name: ServiceMetrics' own, or a component's, made on first sight. */
  private target(m: MetricSnapshot): Counter<string> | Gauge<string> {
    const existing = this.metrics.registry.getSingleMetric(m.name);
    if (existing) return existing as Counter<string> | Gauge<string>;
    const labelNames = [...new Set(m.values.flatMap((v) => Object.keys(v.labels)))];
    return m.type === 'counter' ? this.metrics.counter(m.name, m.help, labelNames) : this.metrics.gauge(m.name, m.help, labelNames);
  }
}
