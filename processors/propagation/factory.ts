import type { ProcessorFactory } from '../../core/component';
import { setting, type ConfigOf } from '../../core/config/schema';
import { PROPAGATORS, type PropagatorName } from './index';
import { extractPropagation } from './processor';

export const schema = {
  // a string list that validate() narrows to propagator names
  propagators: setting.custom<PropagatorName[]>(
    'string-list',
    ['tracecontext', 'datadog', 'b3'],
    `Header formats to extract, in order of precedence (first valid wins), named as OTEL_PROPAGATORS names them: ${PROPAGATORS.join(', ')}`,
  ),
};

export type PropagationConfig = ConfigOf<typeof schema>;

export const propagationFactory: ProcessorFactory<PropagationConfig, 'messages', 'messages'> = {
  kind: 'processor',
  type: 'propagation',
  consumes: 'messages',
  produces: 'messages',
  /** sets each message's propagation context */
  mutatesData: true,
  schema,
  validate(config) {
    return config.propagators
      .filter((p) => !(PROPAGATORS as readonly string[]).includes(p))
      .map((p) => ({ path: 'propagators', message: `unknown propagator "${p}"; expected one of: ${PROPAGATORS.join(', ')}` }));
  },
  create(config, ctx) {
    const extracted = ctx.telemetry.counter('espan_propagation_extracted_total', 'Requests whose headers gave a trace context, by format.', ['format']);
    const invalid = ctx.telemetry.counter('espan_propagation_invalid_total', 'Requests with propagation headers that gave no valid context.');
    return {
      operator: extractPropagation(config.propagators, {
        extracted: (format) => extracted(1, { format }),
        invalid: () => invalid(1),
      }),
    };
  },
};
