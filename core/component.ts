/**
 * Component contracts. A factory binds a `type` name to a config schema with
 * defaults and a create function, as the Collector's NewFactory does. Stages
 * exchange batches (arrays) through RxJS.
 */
import type { Observable, OperatorFunction } from 'rxjs';
import type { Batch, SignalItems, SignalType } from './signals';
import type { Logger } from './telemetry/logger';
import type { ComponentTelemetry } from './telemetry/metrics';
import type { ConfigProblem, ConfigSchema } from './config/schema';

export type ComponentKind = 'receiver' | 'processor' | 'exporter' | 'connector' | 'extension';

export interface ComponentContext {
  /** the component id as written in the config: `type` or `type/name` */
  id: string;
  kind: ComponentKind;
  logger: Logger;
  telemetry: ComponentTelemetry;
  /** directory of the config file: relative paths in component configs resolve against it */
  configDir: string;
  /** for a processor: the signal of the pipeline it runs in */
  signal?: SignalType;
}

interface FactoryBase<C> {
  type: string;
  /** other type names accepted for this factory (the Collector's `otlp` and `otlp_grpc`) */
  aliases?: string[];
  /** former type names still accepted, with a warning that names `type` */
  deprecatedAliases?: string[];
  /** convict schema: every key with its default, format and doc */
  schema: ConfigSchema;
  /** checks that span several keys, after the schema passed */
  validate?(config: C): ConfigProblem[];
}

/** Producers of data. `output` emits batches and completes once `shutdown` resolves. */
export interface Receiver<S extends SignalType = SignalType> {
  readonly output: Observable<Batch<S>>;
  /** true where the input is a file, read as fast as the pipelines take it (replay, pcap): no steady load to bound the heap for */
  readonly readsFile?: boolean;
  start(ctx: ReceiverRuntime): Promise<void>;
  shutdown(): Promise<void>;
}

/** What a running receiver may ask of the pipelines it feeds. */
export interface ReceiverRuntime {
  /** resolves when every downstream exporter has room: lets a file reader go as fast as the slowest exporter */
  waitForCapacity(): Promise<void>;
}

/** `S` ties what `produces` names to what the receiver emits: a ReceiverFactory<C, 'spans'> must create a Receiver<'spans'>. */
export interface ReceiverFactory<C = any, S extends SignalType = SignalType> extends FactoryBase<C> {
  kind: 'receiver';
  produces(config: C): S;
  create(config: C, ctx: ComponentContext): Receiver<S>;
}

/** What a processor consumes or produces: a signal, or any signal for signal-agnostic stages. */
export type ProcessorSignal = SignalType | 'any';

/** The items of a processor's input or output signal; any item for 'any' and for an untyped factory. */
export type ItemOf<S> = S extends SignalType ? SignalItems[S] : any;

/**
 * A stage between receivers and exporters. It must emit what it holds when its
 * input completes: that is how shutdown flushes.
 */
export interface Processor<In = unknown, Out = unknown> {
  readonly operator: OperatorFunction<In[], Out[]>;
  shutdown?(): Promise<void>;
}

/**
 * `In` and `Out` type the operator `create` returns: a `ProcessorFactory<C,
 * 'spans', 'traces'>` must return an OperatorFunction<Span[], Trace[]>.
 */
export interface ProcessorFactory<C = any, In extends ProcessorSignal = any, Out extends ProcessorSignal | 'same' = any> extends FactoryBase<C> {
  kind: 'processor';
  /** the signal it consumes; 'any' for signal-agnostic stages such as `batch` */
  consumes: In;
  /** the signal it produces; 'same' passes the input signal on */
  produces: Out;
  /**
   * It changes the items it is given (sets fields on them) instead of making
   * new ones, as the Collector's `MutatesData` capability says. Items a
   * receiver hands to several pipelines are copied for a pipeline with such a
   * stage, so one pipeline never sees what another wrote.
   */
  mutatesData?: boolean;
  create(config: C, ctx: ComponentContext): Processor<ItemOf<In>, ItemOf<Out extends 'same' ? In : Out>>;
}

export interface ExportResult {
  /** items accepted but never delivered (dropped, rejected, or still queued at the deadline) */
  lost: number;
}

export interface Exporter {
  start?(): Promise<void>;
  /** Takes a batch; queues it or writes it. Failures are counted, not thrown. */
  consume(batch: Batch<any>, signal: SignalType): void | Promise<void>;
  /** resolves when the exporter can take more (queue below its limit) */
  ready?(): Promise<void>;
  /** Delivers what it holds within the deadline, then releases resources. */
  shutdown(deadlineMs: number): Promise<ExportResult>;
}

export interface ExporterFactory<C = any> extends FactoryBase<C> {
  kind: 'exporter';
  accepts(config: C): SignalType[];
  create(config: C, ctx: ComponentContext): Exporter;
}

export interface Extension {
  start(host: ExtensionHost): Promise<void>;
  shutdown(): Promise<void>;
}

/** What extensions see of the running service. */
export interface ExtensionHost {
  /** 'starting' | 'ready' | 'stopping' */
  status(): 'starting' | 'ready' | 'stopping';
}

export interface ExtensionFactory<C = any> extends FactoryBase<C> {
  kind: 'extension';
  create(config: C, ctx: ComponentContext): Extension;
}

/**
 * A connector, as in the Collector: the exporter of one pipeline and the
 * receiver of another (spans in, RED metrics out). It completes its output
 * when `shutdown` is called, after every pipeline feeding it has completed.
 */
export interface Connector<In extends SignalType = SignalType, Out extends SignalType = SignalType> {
  consume(batch: Batch<In>, signal: In): void;
  readonly output: Observable<Batch<Out>>;
  /** flush what it holds, then complete `output` */
  shutdown(): Promise<void>;
}

/** `In` and `Out` type the connector `create` returns: a ConnectorFactory<C, 'spans', 'metrics'> must create a Connector<'spans', 'metrics'>. */
export interface ConnectorFactory<C = any, In extends SignalType = SignalType, Out extends SignalType = SignalType> extends FactoryBase<C> {
  kind: 'connector';
  accepts(config: C): In[];
  produces(config: C): Out;
  create(config: C, ctx: ComponentContext): Connector<In, Out>;
}

export type AnyFactory = ReceiverFactory | ProcessorFactory | ExporterFactory | ConnectorFactory | ExtensionFactory;

/** type name → factory, per kind; aliases resolve to the same factory. */
export class Registry {
  private readonly byKind = new Map<ComponentKind, Map<string, AnyFactory>>();

  constructor(factories: AnyFactory[] = []) {
    for (const f of factories) this.add(f);
  }

  add(f: AnyFactory): this {
    let m = this.byKind.get(f.kind);
    if (!m) this.byKind.set(f.kind, (m = new Map()));
    for (const name of [f.type, ...(f.aliases ?? []), ...(f.deprecatedAliases ?? [])]) {
      if (m.has(name)) throw new Error(`two ${f.kind} factories claim the type "${name}"`);
      m.set(name, f);
    }
    return this;
  }

  get(kind: ComponentKind, type: string): AnyFactory | undefined {
    return this.byKind.get(kind)?.get(type);
  }

  types(kind: ComponentKind): string[] {
    return [...(this.byKind.get(kind)?.keys() ?? [])].sort();
  }
}
