/**
 * Assembles the pipelines of a validated config and runs them. Receivers and
 * exporters are one instance per id, shared by the pipelines naming them (as
 * in the Collector); processors are one instance per pipeline.
 *
 *   receiver outputs ─merge─▶ processor ▶ … ▶ processor ─fan-out─▶ exporters
 *
 * Shutdown runs in order: receivers stop (their outputs complete), processors
 * flush what they hold on completion, exporters drain within a deadline.
 *
 * A pipeline with `workers: N` (N ≥ 2) runs its leading record-local
 * processors on N worker threads (core/workers); the rest stay here.
 */
import { map, merge, Observable, share, Subscription, tap, type OperatorFunction } from 'rxjs';
import type {
  ComponentContext,
  ComponentKind,
  Connector,
  ConnectorFactory,
  Exporter,
  ExporterFactory,
  Extension,
  ExtensionFactory,
  Processor,
  ProcessorFactory,
  Receiver,
  ReceiverFactory,
} from './component';
import type { ServiceConfig } from './config/load';
import { boundHeap, heapFollowsLoad } from './heap-settings';
import { copyBatch, itemCount, type Batch, type SignalType } from './signals';
import { createLogger, type Logger } from './telemetry/logger';
import { componentTelemetry, ServiceMetrics } from './telemetry/metrics';
import { startMetricsServer, type MetricsServer } from './telemetry/server';
import { StageWorkers, WorkerStageError } from './workers/pool';

export interface ServiceOptions {
  logger?: Logger;
  metrics?: ServiceMetrics;
  /** how long exporters get to drain at shutdown */
  shutdownDeadlineMs?: number;
}

export interface ShutdownReport {
  /** items accepted but not delivered */
  lost: number;
  /** components whose shutdown failed or timed out */
  failures: string[];
}

interface RunningPipeline {
  id: string;
  receivers: string[];
  exporters: string[];
  finished: boolean;
  processors: Processor[];
  subscription?: Subscription;
  done: Promise<void>;
}

export class Service {
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  private readonly receivers = new Map<string, { receiver: Receiver; output: Observable<Batch>; signal: SignalType }>();
  private readonly exporters = new Map<string, Exporter>();
  private readonly connectors = new Map<string, Connector>();
  private readonly extensions = new Map<string, Extension>();
  private readonly pipelines: RunningPipeline[] = [];
  private readonly stageWorkers: StageWorkers[] = [];
  private state: 'starting' | 'ready' | 'stopping' = 'starting';
  private metricsServer?: MetricsServer;
  private pipelineFailures: string[] = [];

  constructor(
    readonly config: ServiceConfig,
    private readonly opts: ServiceOptions = {},
  ) {
    this.metrics = opts.metrics ?? new ServiceMetrics(config.telemetry.metrics.level === 'detailed');
    this.logger =
      opts.logger ??
      createLogger({
        level: config.telemetry.logs.level,
        encoding: config.telemetry.logs.encoding === 'auto' ? undefined : config.telemetry.logs.encoding,
      });
    for (const w of config.warnings) this.logger.warn(w.message, { file: w.file, path: w.path });
  }

  private context(kind: ComponentKind, id: string): ComponentContext {
    return {
      id,
      kind,
      logger: this.logger.child({ kind, name: id }),
      telemetry: componentTelemetry(this.metrics, kind, id),
      configDir: this.config.dir,
    };
  }

  private component(kind: ComponentKind, id: string) {
    return this.config.components.get(`${kind}:${id}`)!;
  }

  /** A connector, created once: it stands as an exporter in one pipeline and a receiver in another. */
  private connector(id: string): Connector | undefined {
    const c = this.config.components.get(`connector:${id}`);
    if (!c) return undefined;
    let conn = this.connectors.get(id);
    if (!conn) {
      conn = (c.factory as ConnectorFactory).create(c.config, this.context('connector', id));
      this.connectors.set(id, conn);
    }
    return conn;
  }

  /** Creates every component and connects the pipelines; nothing flows until receivers start. */
  private build(): void {
    for (const p of this.config.pipelines) {
      for (const id of p.receivers) {
        if (this.receivers.has(id)) continue;
        const conn = this.connector(id);
        if (conn) {
          const c = this.component('connector', id);
          const signal = (c.factory as ConnectorFactory).produces(c.config);
          // A connector's output needs no start or stop of its own: it completes at connector shutdown.
          const receiver: Receiver = { output: conn.output, start: async () => {}, shutdown: async () => {} };
          this.receivers.set(id, { receiver, output: conn.output.pipe(share()), signal });
          continue;
        }
        const c = this.component('receiver', id);
        const f = c.factory as ReceiverFactory;
        const receiver = f.create(c.config, this.context('receiver', id));
        const signal = f.produces(c.config);
        const accepted = this.metrics.receiverAccepted.labels({ receiver: id, signal });
        // One subscription upstream however many pipelines listen.
        const output = receiver.output.pipe(
          tap((b) => accepted.inc(itemCount(signal, b))),
          share(),
        );
        this.receivers.set(id, { receiver, output, signal });
      }
      for (const id of p.exporters) {
        if (this.exporters.has(id)) continue;
        const conn = this.connector(id);
        if (conn) {
          this.exporters.set(id, { consume: (b, sig) => conn.consume(b, sig), shutdown: async () => ({ lost: 0 }) });
          continue;
        }
        const c = this.component('exporter', id);
        this.exporters.set(id, (c.factory as ExporterFactory).create(c.config, this.context('exporter', id)));
      }
    }
    for (const id of this.config.extensions) {
      const c = this.component('extension', id);
      this.extensions.set(id, (c.factory as ExtensionFactory).create(c.config, this.context('extension', id)));
    }
    for (const p of this.config.pipelines) this.pipelines.push(this.connect(p));
  }

  /** Whether a pipeline has a processor that changes the items it is given. */
  private mutates(p: ServiceConfig['pipelines'][number]): boolean {
    return p.processors.some((id) => (this.component('processor', id).factory as ProcessorFactory).mutatesData === true);
  }

  /**
   * What a pipeline reads from a receiver (or connector) that several
   * pipelines share, as the Collector's fan-out decides: pipelines that only
   * read share the receiver's items; one that changes them gets its own copies,
   * except the last such pipeline when no pipeline only reads.
   */
  private input(receiverId: string, p: ServiceConfig['pipelines'][number]): Observable<Batch> {
    const { output, signal } = this.receivers.get(receiverId)!;
    if (!this.mutates(p)) return output;
    const readers = this.config.pipelines.filter((q) => q.receivers.includes(receiverId));
    const mutators = readers.filter((q) => this.mutates(q));
    const ownsOriginal = mutators.length === readers.length && mutators[mutators.length - 1] === p;
    return ownsOriginal ? output : output.pipe(map((b) => copyBatch(signal, b)));
  }

  private connect(p: ServiceConfig['pipelines'][number]): RunningPipeline {
    const processors: Processor[] = [];
    // The first tap to see an error names where it came from: the processor just before it ('' for the receivers).
    let failedIn: string | undefined;
    let stream: Observable<Batch> = merge(...p.receivers.map((id) => this.input(id, p))).pipe(tap({ error: () => (failedIn ??= '') }));
    if (p.workerStages > 0) {
      const workers = this.stageWorkersFor(p);
      // The loader checked that this pipeline's receivers produce records.
      const operator: OperatorFunction<Batch, Batch> = workers.operator as OperatorFunction<any[], any[]>;
      processors.push(workers as Processor<any, any>);
      stream = stream.pipe(operator, tap({ error: (e) => (failedIn ??= e instanceof WorkerStageError ? e.stage : undefined) }));
    }
    p.processors.forEach((id, i) => {
      if (i < p.workerStages) return;
      const c = this.component('processor', id);
      const inSignal = p.signals[i];
      const proc = (c.factory as ProcessorFactory).create(c.config, { ...this.context('processor', id), signal: inSignal });
      processors.push(proc);
      const outSignal = p.signals[i + 1];
      const incoming = this.metrics.processorIncoming.labels({ processor: id, pipeline: p.id, signal: inSignal });
      const outgoing = this.metrics.processorOutgoing.labels({ processor: id, pipeline: p.id, signal: outSignal });
      stream = stream.pipe(
        tap((b) => incoming.inc(itemCount(inSignal, b))),
        proc.operator,
        tap({ next: (b) => outgoing.inc(itemCount(outSignal, b)), error: () => (failedIn ??= id) }),
      );
    });
    const signal = p.signals[p.signals.length - 1];
    const exporters = p.exporters.map((id) => ({ id, exporter: this.exporters.get(id)! }));
    const running: RunningPipeline = { id: p.id, receivers: p.receivers, exporters: p.exporters, finished: false, processors, done: Promise.resolve() };
    running.done = new Promise<void>((resolve) => {
      running.subscription = stream.subscribe({
        next: (batch) => {
          if (batch.length === 0) return;
          for (const { id, exporter } of exporters) {
            try {
              const r = exporter.consume(batch, signal);
              if (r instanceof Promise) r.catch((e: unknown) => this.exportFailed(id, signal, batch, e));
            } catch (e) {
              this.exportFailed(id, signal, batch, e);
            }
          }
        },
        error: (e: unknown) => {
          // A processor threw: its pipeline cannot continue, but the others keep running.
          const at = failedIn ? `processor ${failedIn}` : 'receiver';
          if (failedIn) this.metrics.processorFailures.inc({ processor: failedIn, pipeline: p.id });
          this.pipelineFailures.push(`pipeline ${p.id}: ${at}: ${(e as Error)?.message ?? e}`);
          this.logger.error('pipeline stopped by an error', { pipeline: p.id, at, error: (e as Error)?.stack ?? String(e) });
          resolve();
        },
        complete: () => resolve(),
      });
    });
    return running;
  }

  /** The worker threads that run a pipeline's leading `workerStages` processors. */
  private stageWorkersFor(p: ServiceConfig['pipelines'][number]): StageWorkers {
    const stages = p.processors.slice(0, p.workerStages).map((id, i) => {
      const c = this.component('processor', id);
      return { id, type: c.type, config: c.config, signal: p.signals[i] };
    });
    const workers = new StageWorkers({
      workers: p.workers,
      pipeline: p.id,
      stages,
      outSignal: p.signals[p.workerStages],
      configDir: this.config.dir,
      logger: this.logger.child({ pipeline: p.id }),
      metrics: this.metrics,
    });
    this.stageWorkers.push(workers);
    return workers;
  }

  private exportFailed(id: string, signal: SignalType, batch: Batch, e: unknown): void {
    this.metrics.exporterFailed.inc({ exporter: id, signal, reason: 'exception' }, itemCount(signal, batch));
    this.logger.error('exporter failed', { exporter: id, error: (e as Error)?.message ?? String(e) });
  }

  /** Resolves when every exporter, and every pipeline's stage workers, have room. */
  private async waitForCapacity(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const e of [...this.exporters.values(), ...this.stageWorkers]) {
      const w = e.ready?.();
      if (w) waits.push(w);
    }
    if (waits.length) await Promise.all(waits);
  }

  async start(): Promise<void> {
    this.build();
    boundHeap({ apply: this.stageWorkers.length === 0 && ![...this.receivers.values()].some((r) => r.receiver.readsFile) });
    const tel = this.config.telemetry.metrics;
    if (tel.level !== 'none') {
      try {
        this.metricsServer = await startMetricsServer(tel.address, this.metrics);
        this.logger.info('serving Prometheus metrics', { address: `http://${this.metricsServer.address}/metrics` });
      } catch (e) {
        this.logger.error('cannot serve Prometheus metrics; continuing without them', { address: tel.address, error: (e as Error).message });
      }
    }
    for (const [id, ext] of this.extensions) {
      await ext.start({ status: () => this.state });
      this.logger.debug('extension started', { extension: id });
    }
    for (const e of this.exporters.values()) await e.start?.();
    const runtime = { waitForCapacity: () => this.waitForCapacity() };
    for (const [id, r] of this.receivers) {
      await r.receiver.start(runtime);
      this.logger.debug('receiver started', { receiver: id });
    }
    // only now: loading the probe takes most of a core for a while, which would count as load
    heapFollowsLoad();
    this.state = 'ready';
  }

  status(): 'starting' | 'ready' | 'stopping' {
    return this.state;
  }

  /**
   * Resolves when every receiver finished by itself (finite inputs such as
   * replay) and the pipelines they feed completed: time to shut down.
   */
  receiversFinished(): Promise<void> {
    const fedByReceivers = this.pipelines.filter((p) => p.receivers.every((r) => !this.connectors.has(r)));
    return Promise.all(fedByReceivers.map((p) => p.done)).then(() => undefined);
  }

  /** Waits for pipelines in dependency order, shutting each connector down once its inputs completed. */
  private async drainPipelines(attempt: (what: string, p: Promise<unknown>) => Promise<void>): Promise<void> {
    for (const p of this.pipelines) p.done.then(() => (p.finished = true));
    const stopped = new Set<string>();
    for (;;) {
      await Promise.all(
        this.pipelines.filter((p) => p.receivers.every((r) => !this.connectors.has(r) || stopped.has(r))).map((p) => p.done),
      );
      await new Promise((r) => setImmediate(r)); // let the `finished` flags settle
      const ready = [...this.connectors.keys()].filter(
        (id) => !stopped.has(id) && this.pipelines.filter((p) => p.exporters.includes(id)).every((p) => p.finished),
      );
      if (ready.length === 0) break;
      for (const id of ready) {
        stopped.add(id);
        await attempt(`connector ${id}`, this.connectors.get(id)!.shutdown());
      }
    }
    await Promise.all(this.pipelines.map((p) => p.done));
  }

  async shutdown(): Promise<ShutdownReport> {
    const deadline = this.opts.shutdownDeadlineMs ?? 10_000;
    const failures: string[] = [...this.pipelineFailures];
    this.state = 'stopping';
    const attempt = async (what: string, p: Promise<unknown>): Promise<void> => {
      try {
        await p;
      } catch (e) {
        failures.push(`${what}: ${(e as Error)?.message ?? e}`);
        this.logger.error('shutdown step failed', { component: what, error: (e as Error)?.message ?? String(e) });
      }
    };
    // 1. Receivers stop; their outputs complete, so processors flush downstream.
    await Promise.all([...this.receivers].map(([id, r]) => attempt(`receiver ${id}`, r.receiver.shutdown())));
    // 2. Wait for the flushes to reach the exporters; a connector stops once every pipeline feeding it has.
    const flushed = await Promise.race([this.drainPipelines(attempt).then(() => true), sleep(deadline).then(() => false)]);
    if (!flushed) {
      failures.push('pipelines did not complete within the deadline');
      for (const p of this.pipelines) p.subscription?.unsubscribe();
    }
    for (const p of this.pipelines) {
      for (const proc of p.processors) if (proc.shutdown) await attempt(`processor in ${p.id}`, proc.shutdown());
    }
    // 3. Exporters drain within the deadline.
    let lost = 0;
    await Promise.all(
      [...this.exporters].map(async ([id, e]) => {
        try {
          const r = await e.shutdown(deadline);
          lost += r.lost;
          if (r.lost) this.logger.warn('exporter lost items at shutdown', { exporter: id, lost: r.lost });
        } catch (err) {
          failures.push(`exporter ${id}: ${(err as Error).message}`);
        }
      }),
    );
    for (const [id, ext] of this.extensions) await attempt(`extension ${id}`, ext.shutdown());
    await this.metricsServer?.close();
    return { lost, failures };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
