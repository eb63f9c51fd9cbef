/** What the main thread and a stage worker say to each other (core/workers/pool.ts, worker.ts). */
import type { SignalType } from '../signals';
import type { RecordsPart } from './record-shards';

/** One processor a worker runs, as the config resolved it. */
export interface StageSpec {
  id: string;
  type: string;
  config: unknown;
  /** the signal entering it */
  signal: SignalType;
}

export interface WorkerInit {
  shard: number;
  pipeline: string;
  stages: StageSpec[];
  /** the signal leaving the last stage */
  outSignal: SignalType;
  configDir: string;
  /** how often the worker sends its metrics */
  metricsIntervalMs: number;
}

/** main → worker. Every message gets exactly one `spans` reply, in order. */
export type ToWorker = ({ type: 'records' } & RecordsPart & { seq: number }) | { type: 'poll'; seq: number } | { type: 'flush'; seq: number };

/** A metric of the worker's registry, as prom-client's getMetricsAsJSON gives it. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: string;
  values: Array<{ value: number; labels: Record<string, string | number> }>;
}

/** worker → main */
export type FromWorker =
  /** what the stages emitted since the last reply, as an OTLP ExportTraceServiceRequest; absent when nothing */
  | { type: 'spans'; seq: number; otlp?: Uint8Array }
  | { type: 'metrics'; metrics: MetricSnapshot[]; final: boolean }
  | { type: 'log'; line: string }
  /** a stage threw: its pipeline stops, as it would on the main thread */
  | { type: 'failed'; stage: string; message: string; stack?: string };
