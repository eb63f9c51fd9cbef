/**
 * Self-telemetry as Prometheus metrics, named after the Collector's own
 * (`otelcol_receiver_accepted_spans` becomes `espan_receiver_accepted_items_total`
 * with a `signal` label, since espan's stages carry several signals).
 */
import * as prom from 'prom-client';

/**
 * A counter whose children (`labels({...})`, which the service takes once per
 * component, pipeline and signal and increments per batch) count into a
 * LabelSet: prom-client's children validate and hash their labels on every
 * increment. The registry is given the sums when it is read.
 */
class BoundCounter<T extends string> extends prom.Counter<T> {
  private readonly sets: LabelSets;
  private readonly byLabels = new Map<string, LabelSet>();

  constructor(config: prom.CounterConfiguration<T>) {
    const sets = new LabelSets();
    let self: prom.Counter<string> | undefined;
    super({ ...config, collect: () => self && sets.flushCounter(self) });
    self = this as unknown as prom.Counter<string>;
    this.sets = sets;
  }

  override labels(...args: [prom.LabelValues<T>] | string[]): prom.Counter.Internal {
    if (typeof args[0] !== 'object') return super.labels(...(args as string[]));
    const labels = args[0] as Record<string, string>;
    // one set per distinct labels, however often they are asked for
    const key = JSON.stringify(labels);
    let set = this.byLabels.get(key);
    if (set === undefined) this.byLabels.set(key, (set = this.sets.add(labels)));
    const bound = set;
    return {
      inc: (n = 1) => {
        bound.value += n;
        bound.dirty = true;
      },
    };
  }
}

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
  private readonly bound = new Map<string, LabelSets>();

  constructor(withProcessMetrics = false) {
    const r = [this.registry];
    this.receiverAccepted = new BoundCounter({ name: 'espan_receiver_accepted_items_total', help: 'Items a receiver pushed into the pipeline.', labelNames: ['receiver', 'signal'], registers: r });
    this.receiverRefused = new prom.Counter({ name: 'espan_receiver_refused_items_total', help: 'Items a receiver could not decode or accept.', labelNames: ['receiver', 'signal', 'reason'], registers: r });
    this.processorIncoming = new BoundCounter({ name: 'espan_processor_incoming_items_total', help: 'Items that entered a processor.', labelNames: ['processor', 'pipeline', 'signal'], registers: r });
    this.processorOutgoing = new BoundCounter({ name: 'espan_processor_outgoing_items_total', help: 'Items a processor emitted.', labelNames: ['processor', 'pipeline', 'signal'], registers: r });
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
      const sets = this.labelSetsOf(name);
      const counter: prom.Counter<string> = new prom.Counter({ name, help, labelNames, registers: [this.registry], collect: () => sets.flushCounter(counter) });
      this.custom.set(name, (c = counter));
    }
    return c as prom.Counter<string>;
  }

  gauge(name: string, help: string, labelNames: string[]): prom.Gauge<string> {
    let g = this.custom.get(name);
    if (!g) {
      const sets = this.labelSetsOf(name);
      const gauge: prom.Gauge<string> = new prom.Gauge({ name, help, labelNames, registers: [this.registry], collect: () => sets.flushGauge(gauge) });
      this.custom.set(name, (g = gauge));
    }
    return g as prom.Gauge<string>;
  }

  /** The bound label sets of the component-specific counter or gauge `name`. */
  labelSetsOf(name: string): LabelSets {
    let sets = this.bound.get(name);
    if (!sets) this.bound.set(name, (sets = new LabelSets()));
    return sets;
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

/**
 * One label set of a component's counter or gauge, resolved once: counting
 * adds to `value`. prom-client's inc() and set() validate and hash a labels
 * object on every call (after the caller built one), which counters called per
 * batch paid; the registry is given the values when it is read.
 */
class LabelSet {
  /** a counter's increments since the registry was last read; a gauge's latest value */
  value = 0;
  /** changed since the registry was last read */
  dirty = false;

  constructor(readonly labels: Record<string, string>) {}
}

/** The bound label sets of one metric, handed to prom-client by the metric's collect, which every read of the registry calls first. */
export class LabelSets {
  private readonly sets: LabelSet[] = [];

  add(labels: Record<string, string>): LabelSet {
    const set = new LabelSet(labels);
    this.sets.push(set);
    return set;
  }

  flushCounter(c: prom.Counter<string>): void {
    for (const s of this.sets) {
      if (!s.dirty) continue;
      c.inc(s.labels, s.value);
      s.value = 0;
      s.dirty = false;
    }
  }

  flushGauge(g: prom.Gauge<string>): void {
    for (const s of this.sets) {
      if (!s.dirty) continue;
      g.set(s.labels, s.value);
      s.dirty = false;
    }
  }
}

/**
 * Finds the label set of a component's labels (values of `extra`, beside
 * `component: id`), made once per distinct values and found again by the one
 * value or the values joined. A new set's labels go through `check` first (a
 * call of prom-client with them), so a wrong label name throws at the call.
 */
function labelSetFinder(id: string, extra: readonly string[], sets: LabelSets, check: (labels: Record<string, string>) => void): (labels?: Record<string, string>) => LabelSet {
  const make = (labels: Record<string, string> | undefined): LabelSet => {
    const full = { component: id, ...labels };
    check(full);
    return sets.add(full);
  };
  const byKey = new Map<string, LabelSet>();
  return (labels = {}) => {
    let key = '';
    for (let i = 0; i < extra.length; i++) key += i ? `\u0000${labels[extra[i]]}` : labels[extra[i]];
    let set = byKey.get(key);
    if (set === undefined) byKey.set(key, (set = make(labels)));
    return set;
  };
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
      const find = labelSetFinder(id, extra, metrics.labelSetsOf(name), (labels) => c.inc(labels, 0));
      return (n, labels) => {
        const set = find(labels);
        set.value += n;
        set.dirty = true;
      };
    },
    gauge: (name, help, extra = []) => {
      const g = metrics.gauge(name, help, ['component', ...extra]);
      const find = labelSetFinder(id, extra, metrics.labelSetsOf(name), (labels) => g.set(labels, 0));
      return (v, labels) => {
        const set = find(labels);
        set.value = v;
        set.dirty = true;
      };
    },
  };
}
