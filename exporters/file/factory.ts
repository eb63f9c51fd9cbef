import * as path from 'node:path';
import type { Exporter, ExporterFactory } from '../../core/component';
import { setting, type ConfigOf } from '../../core/config/schema';
import { itemCount, type Span, type Trace } from '../../core/signals';
import { otlpSerializer } from '../exporterhelper/serializer';
import { RotatingWriter } from './rotating-writer';

export const schema = {
  path: setting.string('', 'file to write (relative to the config file)'),
  format: setting.oneOf(['json'], 'json', 'json: OTLP/JSON, one request per line'),
  append: setting.bool(false, 'append to an existing file instead of truncating it'),
  flush_interval: setting.duration('1s', 'how often buffered lines are written'),
  rotation: {
    max_megabytes: setting.nat(100, 'rotate when the file would grow past this size; 0 disables rotation'),
    max_days: setting.nat(0, 'remove rotated files older than this; 0 keeps them'),
    max_backups: setting.nat(100, 'rotated files kept; 0 keeps all'),
    localtime: setting.bool(false, 'timestamps in rotated file names use local time'),
  },
};

export type FileConfig = ConfigOf<typeof schema>;

const NEWLINE = Buffer.from('\n');

/**
 * Writes OTLP/JSON lines, one ExportTraceServiceRequest per batch, as the
 * Collector's file exporter does; the file can be read back by any OTLP/JSON
 * reader (and by the Collector's otlpjsonfile receiver).
 */
export const fileFactory: ExporterFactory<FileConfig> = {
  kind: 'exporter',
  type: 'file',
  schema,
  validate: (c) => (c.path ? [] : [{ path: 'path', message: 'required: the file to write' }]),
  accepts: () => ['spans', 'traces'],
  create(config, ctx): Exporter {
    const serialize = otlpSerializer('traces', 'json');
    const writer = new RotatingWriter(
      path.resolve(ctx.configDir, config.path),
      {
        maxBytes: config.rotation.max_megabytes * 1024 * 1024,
        maxBackups: config.rotation.max_backups,
        maxDays: config.rotation.max_days,
        localtime: config.rotation.localtime,
      },
      config.append,
    );
    const flush = (): void => {
      try {
        writer.flush();
      } catch (e) {
        ctx.logger.error('cannot write', { path: writer.file, error: (e as Error).message });
      }
    };
    const timer = setInterval(flush, Math.max(10, config.flush_interval));
    timer.unref();
    return {
      consume(batch, signal) {
        const spans = signal === 'traces' ? (batch as Trace[]).flatMap((t) => t.spans) : (batch as Span[]);
        const n = itemCount(signal, batch);
        try {
          writer.append(Buffer.concat([serialize(spans), NEWLINE]));
          ctx.telemetry.sent(n, signal);
        } catch (e) {
          ctx.telemetry.failed(n, signal, 'write_error');
          ctx.logger.error('cannot write', { path: writer.file, error: (e as Error).message });
        }
      },
      async shutdown() {
        clearInterval(timer);
        writer.close();
        return { lost: 0 };
      },
    };
  },
};
