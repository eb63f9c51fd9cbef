import type { ProcessorFactory } from '../../core/component';
import { schema, type TailSamplingConfig } from './config';
import { tailSampling } from './processor';

export const tailSamplingFactory: ProcessorFactory<TailSamplingConfig, 'traces', 'traces'> = {
  kind: 'processor',
  type: 'tail_sampling',
  consumes: 'traces',
  produces: 'traces',
  schema,
  create(config, ctx) {
    return { operator: tailSampling(config, ctx.telemetry) };
  },
};
