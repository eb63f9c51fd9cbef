import * as path from 'node:path';
import type { ReceiverFactory } from '../../core/component';
import { ReplayReceiver } from './replay';

export interface ReplayConfig {
  path: string;
  timing: 'max' | 'recorded';
  speed: number;
  batch_size: number;
}

export const replayFactory: ReceiverFactory<ReplayConfig> = {
  kind: 'receiver',
  type: 'replay',
  schema: {
    path: { doc: 'capture file written by the record exporter (relative to the config file)', format: String, default: '' },
    timing: { doc: 'max: as fast as the pipeline takes it; recorded: keep the gaps between records', format: ['max', 'recorded'], default: 'max' },
    speed: { doc: 'with timing: recorded, how many times faster than recorded', format: Number, default: 1 },
    batch_size: { doc: 'records per batch', format: 'nat', default: 1024 },
  },
  validate(c) {
    const problems = [];
    if (!c.path) problems.push({ path: 'path', message: 'required: the capture file to replay' });
    if (c.speed <= 0) problems.push({ path: 'speed', message: 'must be greater than 0' });
    if (c.batch_size < 1) problems.push({ path: 'batch_size', message: 'must be at least 1' });
    return problems;
  },
  produces: () => 'records',
  create: (config, ctx) => new ReplayReceiver({ ...config, path: path.resolve(ctx.configDir, config.path) }, ctx),
};
