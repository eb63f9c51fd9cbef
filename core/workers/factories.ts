/**
 * The factories of the processors a worker can run (stages.ts names them).
 * A worker builds its stages from their type names and resolved configs, so
 * it loads these four modules and none of the receivers or exporters.
 */
import type { ProcessorFactory } from '../component';
import { parseFactory } from '../../processors/parse/factory';
import { propagationFactory } from '../../processors/propagation/factory';
import { spanBuilderFactory } from '../../processors/span_builder/factory';
import { threadCorrelationFactory } from '../../processors/thread_correlation/factory';
import { WORKER_STAGE_TYPES } from './stages';

const FACTORIES = new Map<string, ProcessorFactory>(
  [parseFactory, threadCorrelationFactory, propagationFactory, spanBuilderFactory].map((f) => [f.type, f as ProcessorFactory]),
);

export function workerFactory(type: string): ProcessorFactory {
  const f = FACTORIES.get(type);
  if (!f || !WORKER_STAGE_TYPES.includes(type)) throw new Error(`processor type "${type}" cannot run in a worker thread`);
  return f;
}
