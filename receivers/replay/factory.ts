import * as path from 'node:path';
import type { ReceiverFactory } from '../../core/component';
import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';
import { ReplayReceiver } from './replay';

export const schema = {
  path: setting.string('', 'capture file written by the record exporter (relative to the config file)'),
  timing: setting.oneOf(['max', 'recorded'], 'max', 'max: as fast as the pipeline takes it; recorded: keep the gaps between records'),
  speed: setting.number(1, 'with timing: recorded, how many times faster than recorded'),
  batch_size: setting.nat(1024, 'records per batch'),
};

export type ReplayConfig = ConfigOf<typeof schema>;

export const replayFactory: ReceiverFactory<ReplayConfig, 'records'> = {
  kind: 'receiver',
  type: 'replay',
  schema,
  validate(c) {
    const problems: ConfigProblem[] = [];
    if (!c.path) problems.push({ path: 'path', message: 'required: the capture file to replay' });
    if (c.speed <= 0) problems.push({ path: 'speed', message: 'must be greater than 0' });
    if (c.batch_size < 1) problems.push({ path: 'batch_size', message: 'must be at least 1' });
    return problems;
  },
  produces: () => 'records',
  create: (config, ctx) => new ReplayReceiver({ ...config, path: path.resolve(ctx.configDir, config.path) }, ctx),
};
