import * as path from 'node:path';
import type { ExporterFactory, Exporter } from '../../core/component';
import { CaptureWriter } from '../../core/capture/format';
import type { NetworkRecord } from '../../core/signals';

export interface RecordConfig {
  path: string;
}

/** Writes raw records to a capture file (docs/capture-format.md) for replay: payloads as captured, nothing redacted. */
export const recordFactory: ExporterFactory<RecordConfig> = {
  kind: 'exporter',
  type: 'record',
  schema: {
    path: { doc: 'capture file to write (relative to the config file); replaced if it exists. It holds raw payloads, secrets included', format: String, default: '' },
  },
  validate: (c) => (c.path ? [] : [{ path: 'path', message: 'required: the capture file to write' }]),
  accepts: () => ['records'],
  create(config, ctx): Exporter {
    const writer = new CaptureWriter(path.resolve(ctx.configDir, config.path), 'espan record exporter');
    return {
      consume(batch) {
        try {
          writer.write(batch as NetworkRecord[]);
          ctx.telemetry.sent(batch.length, 'records');
        } catch (e) {
          ctx.telemetry.failed(batch.length, 'records', 'write_error');
          ctx.logger.error('cannot write capture file', { path: writer.path, error: (e as Error).message });
        }
      },
      async shutdown() {
        writer.close();
        ctx.logger.info('capture file written', { path: writer.path, records: writer.records, bytes: writer.bytes });
        return { lost: 0 };
      },
    };
  },
};
