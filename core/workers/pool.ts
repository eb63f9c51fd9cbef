/**
 * The record-local stages of a pipeline (parse … span_builder) on N worker
 * threads, as one processor of the main thread: records in, spans out.
 *
 *   records ─split by pid─▶ worker 0 … worker N-1 ─OTLP bytes─▶ spans, in input order
 *
 * Records cross as network_data bytes (record-shards.ts) and spans come back
 * as OTLP protobuf (write-trace.ts / read-trace.ts): both are transferred
 * buffers, not cloned object graphs. Every batch is sent to every worker
 * (an empty part to those with no records of it) and each worker answers each
 * message once, so the output is put back batch by batch in input order,
 * shard by shard: a shard's order is kept and the output does not depend on
 * which worker finishes first. An idle pipeline polls its workers so that
 * what their timers release still comes out.
 *
 * When the input completes, every worker flushes what its stages hold and
 * sends its last metrics before the output completes: the main-thread stages
 * after this one flush only then. A stage that throws in a worker, or a
 * worker that dies, stops this pipeline with a WorkerStageError naming the
 * stage, as a processor throwing on the main thread does; espan keeps running.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Observable, type OperatorFunction } from 'rxjs';
import type { Processor } from '../component';
import { readTraceRequest } from '../otlp/read-trace';
import type { NetworkRecord, SignalType, Span } from '../signals';
import type { Logger, LogLevel } from '../telemetry/logger';
import type { ServiceMetrics } from '../telemetry/metrics';
import type { FromWorker, StageSpec, ToWorker, WorkerInit } from './messages';
import { WorkerMetricsMerge } from './metrics-merge';
import { splitRecords } from './record-shards';

export interface StageWorkersOptions {
  workers: number;
  pipeline: string;
  stages: StageSpec[];
  /** the signal the last stage produces */
  outSignal: SignalType;
  configDir: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /** batches sent but not yet answered by every worker before `ready` makes receivers wait */
  maxInFlight?: number;
  /** an idle pipeline polls its workers this often */
  pollMs?: number;
  metricsIntervalMs?: number;
}

/** A stage failed in a worker, or a worker died: `stage` is the processor id to blame, or `workers`. */
export class WorkerStageError extends Error {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  /** each shard's answer, in shard order */
  otlp: Array<Uint8Array | undefined>;
  answered: number;
}

export class StageWorkers implements Processor<NetworkRecord, Span> {
  readonly operator: OperatorFunction<NetworkRecord[], Span[]>;
  private workers: Worker[] = [];
  private sent = 0;
  private emitted = 0;
  private waiting: Array<() => void> = [];
  private readonly maxInFlight: number;

  constructor(private readonly opts: StageWorkersOptions) {
    this.maxInFlight = opts.maxInFlight ?? 64;
    this.operator = (source) => new Observable<Span[]>((subscriber) => this.run(source, subscriber));
  }

  /** Resolves when few enough batches are in flight: lets a file reader go as fast as the workers. */
  ready(): Promise<void> | undefined {
    if (this.sent - this.emitted < this.maxInFlight) return undefined;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async shutdown(): Promise<void> {
    await this.terminate();
  }

  private run(source: Observable<NetworkRecord[]>, out: { next(s: Span[]): void; error(e: unknown): void; complete(): void }): () => void {
    const n = this.opts.workers;
    const pending = new Map<number, Pending>();
    const merge = new WorkerMetricsMerge(this.opts.metrics, n);
    let finalSeq = -1;
    let finalMetrics = 0;
    let stopped = false;
    let sentSincePoll = false;

    const fail = (e: WorkerStageError): void => {
      if (stopped) return;
      stopped = true;
      out.error(e);
      void this.terminate();
    };
    const send = (shard: number, m: ToWorker, transfer: ArrayBuffer[] = []): void => {
      this.workers[shard].postMessage(m, transfer);
    };
    const expect = (seq: number): void => {
      pending.set(seq, { otlp: new Array(n), answered: 0 });
      sentSincePoll = true;
    };
    const emitInOrder = (): void => {
      for (let p = pending.get(this.emitted); p && p.answered === n; p = pending.get(this.emitted)) {
        pending.delete(this.emitted);
        const spans: Span[] = [];
        for (const otlp of p.otlp) if (otlp) for (const s of readTraceRequest(otlp)) spans.push(s);
        const seq = this.emitted++;
        if (spans.length && !stopped) out.next(spans);
        if (seq === finalSeq) finishIfDone();
      }
      if (this.sent - this.emitted < this.maxInFlight) for (const w of this.waiting.splice(0)) w();
    };
    const finishIfDone = (): void => {
      if (stopped || finalSeq < 0 || this.emitted <= finalSeq || finalMetrics < n) return;
      stopped = true;
      out.complete();
      void this.terminate();
    };
    const onMessage = (shard: number, m: FromWorker): void => {
      switch (m.type) {
        case 'spans': {
          const p = pending.get(m.seq)!;
          p.otlp[shard] = m.otlp;
          p.answered++;
          return emitInOrder();
        }
        case 'metrics':
          merge.add(shard, m.metrics);
          if (m.final) {
            finalMetrics++;
            finishIfDone();
          }
          return;
        case 'log': {
          const { level, msg, ts: _ts, ...fields } = JSON.parse(m.line) as { level: LogLevel; msg: string; ts: string };
          this.opts.logger[level](msg, fields);
          return;
        }
        case 'failed':
          return fail(new WorkerStageError(m.stage, m.message));
      }
    };

    const entry = workerEntry();
    for (let shard = 0; shard < n; shard++) {
      const init: WorkerInit = {
        shard,
        pipeline: this.opts.pipeline,
        stages: this.opts.stages,
        outSignal: this.opts.outSignal,
        configDir: this.opts.configDir,
        metricsIntervalMs: this.opts.metricsIntervalMs ?? 1000,
      };
      const w = new Worker(entry.file, { workerData: init, execArgv: entry.execArgv });
      w.on('message', (m: FromWorker) => onMessage(shard, m));
      w.on('error', (e) => {
        fail(new WorkerStageError('workers', `stage worker ${shard} crashed: ${e.message}`));
      });
      w.on('exit', (code) => {
        if (!stopped) fail(new WorkerStageError('workers', `stage worker ${shard} exited (code ${code}) before flushing`));
      });
      this.workers.push(w);
    }

    const poll = setInterval(() => {
      if (!sentSincePoll && finalSeq < 0 && !stopped) {
        const seq = this.sent++;
        expect(seq);
        for (let s = 0; s < n; s++) send(s, { type: 'poll', seq });
      }
      sentSincePoll = false;
    }, this.opts.pollMs ?? 200);
    poll.unref();

    const input = source.subscribe({
      next: (records) => {
        if (records.length === 0 || stopped) return;
        const seq = this.sent++;
        expect(seq);
        splitRecords(records, n).forEach((part, s) => send(s, { type: 'records', seq, ...part }, [part.bytes, part.ends.buffer as ArrayBuffer]));
      },
      error: (e) => {
        clearInterval(poll);
        stopped = true;
        out.error(e);
        void this.terminate();
      },
      complete: () => {
        clearInterval(poll);
        finalSeq = this.sent++;
        expect(finalSeq);
        for (let s = 0; s < n; s++) send(s, { type: 'flush', seq: finalSeq });
      },
    });
    return () => {
      clearInterval(poll);
      input.unsubscribe();
      stopped = true;
      void this.terminate();
    };
  }

  private async terminate(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    for (const w of this.waiting.splice(0)) w();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The worker's script: compiled JavaScript, or the TypeScript source through tsx when running from sources (tests). */
function workerEntry(): { file: string; execArgv?: string[] } {
  const js = path.join(__dirname, 'worker.js');
  // Node's own flags (--cpu-prof, --max-old-space-size) reach the workers too.
  if (fs.existsSync(js)) return { file: js };
  return { file: path.join(__dirname, 'worker.ts'), execArgv: [...process.execArgv, '--require', require.resolve('tsx/cjs')] };
}
