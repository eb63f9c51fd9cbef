import type { ProcessorFactory } from '../../core/component';
import { setting, type ConfigOf } from '../../core/config/schema';
import { traceSize } from '../../core/signals';
import { batchItems } from '../../core/batching';

const schema = {
  send_batch_size: setting.nat(8192, 'items (spans in a traces pipeline) that trigger sending a batch'),
  send_batch_max_size: setting.nat(0, 'upper limit of a batch, in the same unit; 0 means no limit'),
  timeout: setting.duration('200ms', 'time after which a batch is sent regardless of size'),
};

export type BatchConfig = ConfigOf<typeof schema>;

/** The Collector's batch processor, for any signal. */
export const batchFactory: ProcessorFactory<BatchConfig, 'any', 'same'> = {
  kind: 'processor',
  type: 'batch',
  schema,
  validate: (c) =>
    c.send_batch_max_size > 0 && c.send_batch_max_size < c.send_batch_size
      ? [{ path: 'send_batch_max_size', message: 'must be 0 or at least send_batch_size' }]
      : [],
  consumes: 'any',
  produces: 'same',
  create: (c, ctx) => ({
    operator: batchItems({
      sendBatchSize: c.send_batch_size,
      sendBatchMaxSize: c.send_batch_max_size,
      timeoutMs: c.timeout,
      sizeOf: ctx.signal === 'traces' ? traceSize : undefined,
    }),
  }),
};
