import type { ProcessorFactory } from '../../core/component';
import { schema, validate, type LinkingConfig } from './config';
import { linking } from './processor';

export const linkingFactory: ProcessorFactory<LinkingConfig, 'spans', 'traces'> = {
  kind: 'processor',
  type: 'linking',
  consumes: 'spans',
  produces: 'traces',
  /** sets the trace and parent ids of the spans it is given */
  mutatesData: true,
  schema,
  validate,
  create(config, ctx) {
    return { operator: linking(config, ctx.telemetry) };
  },
};
