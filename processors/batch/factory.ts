import type { ProcessorFactory } from '../../core/component';
import { traceSize } from '../../core/signals';
import { batchItems } from '../../core/batching';

export interface BatchConfig {
  send_batch_size: number;
  send_batch_max_size: number;
  timeout: number;
}

/** The Collector's batch processor, for any signal. */
export const batchFactory: ProcessorFactory<BatchConfig> = {
  kind: 'processor',
  type: 'batch',
  schema: {
    send_batch_size: { doc: 'items (spans in a traces pipeline) that trigger sending a batch', format: 'nat', default: 8192 },
    send_batch_max_size: { doc: 'upper limit of a batch, in the same unit; 0 means no limit', format: 'nat', default: 0 },
    timeout: { doc: 'time after which a batch is sent regardless of size', format: 'duration', default: '200ms' },
  },
  validate: (c) =>
    c.send_batch_max_size > 0 && c.send_batch_max_size < c.send_batch_size
      ? [{ path: 'send_batch_max_size', message: 'must be 0 or at least send_batch_size' }]
      : [],
  consumes: 'any',
  produces: 'same',
  create: (c, ctx) => ({
    operator: batchItems<any>({
      sendBatchSize: c.send_batch_size,
      sendBatchMaxSize: c.send_batch_max_size,
      timeoutMs: c.timeout,
      sizeOf: ctx.signal === 'traces' ? traceSize : undefined,
    }),
  }),
};
