/**
 * A stage worker: runs the record-local processors of one pipeline over the
 * records of its shard and sends back the spans they make as OTLP bytes.
 * Started by pool.ts with a WorkerInit as workerData.
 *
 * Each message from the main thread is answered by exactly one `spans` reply
 * carrying what the stages emitted since the previous reply (timer-driven
 * output waits for the next message; the pool polls an idle worker), so the
 * main thread can put every shard's output back in input order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Observable, Subject, tap } from 'rxjs';
import type { ProcessorFactory } from '../component';
import { writeTraceRequest } from '../otlp/write-trace';
import { itemCount, type Span } from '../signals';
import { createLogger } from '../telemetry/logger';
import { componentTelemetry, ServiceMetrics } from '../telemetry/metrics';
import type { FromWorker, MetricSnapshot, ToWorker, WorkerInit } from './messages';
import { RecordsReader } from './record-shards';
import { workerFactory } from './factories';

const init = workerData as WorkerInit;
const port = parentPort!;

function post(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

const metrics = new ServiceMetrics();
// Lines go to the main thread's logger, which adds its own fields and sink.
const logger = createLogger({ level: 'debug', encoding: 'json', sink: { write: (line) => post({ type: 'log', line }) } }, { worker: init.shard });

const input = new Subject<unknown[]>();
let stream: Observable<unknown[]> = input;
let failedIn: string | undefined;
init.stages.forEach((stage, i) => {
  const factory: ProcessorFactory = workerFactory(stage.type);
  const proc = factory.create(stage.config, {
    id: stage.id,
    kind: 'processor',
    logger: logger.child({ kind: 'processor', name: stage.id }),
    telemetry: componentTelemetry(metrics, 'processor', stage.id),
    configDir: init.configDir,
    signal: stage.signal,
  });
  const outSignal = init.stages[i + 1]?.signal ?? init.outSignal;
  const incoming = metrics.processorIncoming.labels({ processor: stage.id, pipeline: init.pipeline, signal: stage.signal });
  const outgoing = metrics.processorOutgoing.labels({ processor: stage.id, pipeline: init.pipeline, signal: outSignal });
  stream = stream.pipe(
    tap((b) => incoming.inc(itemCount(stage.signal, b))),
    proc.operator,
    tap({ next: (b) => outgoing.inc(itemCount(outSignal, b)), error: () => (failedIn ??= stage.id) }),
  );
});

let outbox: Span[] = [];
stream.subscribe({
  next: (spans) => {
    for (const s of spans as Span[]) outbox.push(s);
  },
  error: (e: unknown) => {
    post({ type: 'failed', stage: failedIn ?? init.stages[0].id, message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack });
  },
});

/** The outbox as OTLP bytes in a buffer of their own, so it can be transferred. */
function reply(seq: number): void {
  if (outbox.length === 0) return post({ type: 'spans', seq });
  const written = writeTraceRequest(outbox);
  outbox = [];
  const otlp = new Uint8Array(written.length);
  otlp.set(written);
  post({ type: 'spans', seq, otlp }, [otlp.buffer as ArrayBuffer]);
}

async function snapshot(): Promise<MetricSnapshot[]> {
  return (await metrics.registry.getMetricsAsJSON()) as unknown as MetricSnapshot[];
}

const sendMetrics = (): void => {
  snapshot().then((m) => post({ type: 'metrics', metrics: m, final: false }));
};
const metricsTimer = setInterval(sendMetrics, init.metricsIntervalMs);
metricsTimer.unref();

const records = new RecordsReader();
port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'records':
      input.next(records.read(m));
      return reply(m.seq);
    case 'poll':
      return reply(m.seq);
    case 'flush':
      // The stages give up what they hold on completion, synchronously.
      input.complete();
      reply(m.seq);
      clearInterval(metricsTimer);
      // The pool terminates this worker once it has the last metrics.
      snapshot().then((s) => post({ type: 'metrics', metrics: s, final: true }));
      return;
  }
});
