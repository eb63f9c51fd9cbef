import type { ReceiverFactory } from '../../core/component';
import { schema, validate, type EbpfConfig } from './config';
import { EbpfReceiver } from './receiver';

export const ebpfFactory: ReceiverFactory<EbpfConfig, 'records'> = {
  kind: 'receiver',
  type: 'ebpf',
  schema,
  validate,
  produces: () => 'records',
  create: (config, ctx) => new EbpfReceiver(config, ctx),
};
