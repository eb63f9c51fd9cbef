/**
 * Self-telemetry as Prometheus metrics, named after the Collector's own
 * (`otelcol_receiver_accepted_spans` becomes `espan_receiver_accepted_items_total`
 * with a `signal` label, since espan's stages carry several signals).
 */
import * as prom from 'prom-client';

export class ServiceMetrics {
  readonly registry = new prom.Registry();
  readonly receiverAccepted: prom.Counter<'receiver' | 'signal'>;
  readonly receiverRefused: prom.Counter<'receiver' | 'signal' | 'reason'>;
  readonly processorIncoming: prom.Counter<'processor' | 'pipeline' | 'signal'>;
  readonly processorOutgoing: prom.Counter<'processor' | 'pipeline' | 'signal'>;
  readonly processorDropped: prom.Counter<'processor' | 'reason'>;
  readonly processorFailures: prom.Counter<'processor' | 'pipeline'>;
  readonly exporterSent: prom.Counter<'exporter' | 'signal'>;
  readonly exporterFailed: prom.Counter<'exporter' | 'signal' | 'reason'>;
  readonly exporterQueueSize: prom.Gauge<'exporter'>;
  readonly exporterQueueCapacity: prom.Gauge<'exporter'>;
  private readonly custom = new Map<string, prom.Counter<string> | prom.Gauge<string>>();

  constructor(withProcessMetrics = false) {
    const r = [this.registry];
    this.receiverAccepted = new prom.Counter({ name: 'espan_receiver_accepted_items_total', help: 'Items a receiver pushed into the pipeline.', labelNames: ['receiver', 'signal'], registers: r });
    this.receiverRefused = new prom.Counter({ name: 'espan_receiver_refused_items_total', help: 'Items a receiver could not decode or accept.', labelNames: ['receiver', 'signal', 'reason'], registers: r });
    this.processorIncoming = new prom.Counter({ name: 'espan_processor_incoming_items_total', help: 'Items that entered a processor.', labelNames: ['processor', 'pipeline', 'signal'], registers: r });
    this.processorOutgoing = new prom.Counter({ name: 'espan_processor_outgoing_items_total', help: 'Items a processor emitted.', labelNames: ['processor', 'pipeline', 'signal'], registers: r });
    this.processorDropped = new prom.Counter({ name: 'espan_processor_dropped_items_total', help: 'Items a processor dropped, by reason.', labelNames: ['processor', 'reason'], registers: r });
    this.processorFailures = new prom.Counter({ name: 'espan_processor_failures_total', help: 'Processors that threw: each stopped its pipeline (the others keep running).', labelNames: ['processor', 'pipeline'], registers: r });
    this.exporterSent = new prom.Counter({ name: 'espan_exporter_sent_items_total', help: 'Items an exporter delivered.', labelNames: ['exporter', 'signal'], registers: r });
    this.exporterFailed = new prom.Counter({ name: 'espan_exporter_send_failed_items_total', help: 'Items an exporter failed to deliver, by reason.', labelNames: ['exporter', 'signal', 'reason'], registers: r });
    this.exporterQueueSize = new prom.Gauge({ name: 'espan_exporter_queue_size', help: 'Batches waiting in an exporter queue.', labelNames: ['exporter'], registers: r });
    this.exporterQueueCapacity = new prom.Gauge({ name: 'espan_exporter_queue_capacity', help: 'Capacity of an exporter queue.', labelNames: ['exporter'], registers: r });
    if (withProcessMetrics) prom.collectDefaultMetrics({ register: this.registry, prefix: 'espan_' });
  }

  /** A component-specific counter (kernel drops, parse failures), created once per name. */
  counter(name: string, help: string, labelNames: string[]): prom.Counter<string> {
    let c = this.custom.get(name);
    if (!c) {
      c = new prom.Counter({ name, help, labelNames, registers: [this.registry] });
      this.custom.set(name, c);
    }
    return c as prom.Counter<string>;
  }

  gauge(name: string, help: string, labelNames: string[]): prom.Gauge<string> {
    let g = this.custom.get(name);
    if (!g) {
      g = new prom.Gauge({ name, help, labelNames, registers: [this.registry] });
      this.custom.set(name, g);
    }
    return g as prom.Gauge<string>;
  }

  /** Sum of a counter over all its label sets (for status lines and tests). */
  async total(name: string, filter: Record<string, string> = {}): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (!m) return 0;
    const data = await m.get();
    let sum = 0;
    for (const v of data.values) {
      if (Object.entries(filter).every(([k, want]) => v.labels[k] === want)) sum += v.value;
    }
    return sum;
  }
}

/** The metrics a component reports, already labelled with its id. */
export interface ComponentTelemetry {
  metrics: ServiceMetrics;
  /** items refused at a receiver (undecodable) */
  refused(n: number, signal: string, reason: string): void;
  /** items dropped inside a processor or exporter, by reason */
  dropped(n: number, reason: string): void;
  sent(n: number, signal: string): void;
  failed(n: number, signal: string, reason: string): void;
  queue(size: number, capacity: number): void;
  /** a counter of this component's own, labelled with `component` */
  counter(name: string, help: string, extraLabels?: string[]): (n: number, labels?: Record<string, string>) => void;
  gauge(name: string, help: string, extraLabels?: string[]): (v: number, labels?: Record<string, string>) => void;
}

export function componentTelemetry(metrics: ServiceMetrics, kind: string, id: string): ComponentTelemetry {
  return {
    metrics,
    refused: (n, signal, reason) => {
      metrics.receiverRefused.inc({ receiver: id, signal, reason }, n);
    },
    dropped: (n, reason) => {
      if (kind === 'exporter') metrics.exporterFailed.inc({ exporter: id, signal: 'any', reason }, n);
      else metrics.processorDropped.inc({ processor: id, reason }, n);
    },
    sent: (n, signal) => {
      metrics.exporterSent.inc({ exporter: id, signal }, n);
    },
    failed: (n, signal, reason) => {
      metrics.exporterFailed.inc({ exporter: id, signal, reason }, n);
    },
    queue: (size, capacity) => {
      metrics.exporterQueueSize.set({ exporter: id }, size);
      metrics.exporterQueueCapacity.set({ exporter: id }, capacity);
    },
    counter: (name, help, extra = []) => {
      const c = metrics.counter(name, help, ['component', ...extra]);
      return (n, labels = {}) => {
        c.inc({ component: id, ...labels }, n);
      };
    },
    gauge: (name, help, extra = []) => {
      const g = metrics.gauge(name, help, ['component', ...extra]);
      return (v, labels = {}) => {
        g.set({ component: id, ...labels }, v);
      };
    },
  };
}
