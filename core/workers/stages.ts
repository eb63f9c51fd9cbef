/**
 * Which processors may run on worker threads, and which leading run of a
 * pipeline's processors does. A worker gets the records of some processes
 * (sharded by pid), so only stages whose state is per process or per
 * connection can run there: parse, thread_correlation, propagation and
 * span_builder. Linking, sampling and batching see every process and stay on
 * the main thread.
 */
import type { SignalType } from '../signals';

export const WORKER_STAGE_TYPES: readonly string[] = ['parse', 'thread_correlation', 'propagation', 'span_builder'];

export type WorkerStages = { count: number } | { problem: string; /** the processor it names, if any */ index?: number };

/**
 * The leading processors that run on workers: they must start at `records`
 * and reach `spans`, all of WORKER_STAGE_TYPES. `signals` is the pipeline's
 * signal entering each processor and then the one reaching the exporters.
 */
export function workerStages(processors: ReadonlyArray<{ id: string; type: string }>, signals: readonly SignalType[]): WorkerStages {
  const allowed = WORKER_STAGE_TYPES.join(', ');
  if (signals[0] !== 'records') {
    return { problem: `worker threads take records (sharded by process id), but this pipeline's receivers produce ${signals[0]}` };
  }
  let count = 0;
  while (count < processors.length && WORKER_STAGE_TYPES.includes(processors[count].type)) count++;
  if (signals[count] === 'spans') return { count };
  if (count < processors.length) {
    return {
      problem: `processor "${processors[count].id}" cannot run in a worker thread: only ${allowed} can (their state is per process or connection), and the pipeline must begin with them up to spans`,
      index: count,
    };
  }
  return { problem: `the pipeline's processors must begin with ${allowed} up to spans (span_builder) to run in worker threads` };
}
