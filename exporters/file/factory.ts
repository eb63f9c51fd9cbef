import * as path from 'node:path';
import type { Exporter, ExporterFactory } from '../../core/component';
import { toOtlpJson } from '../../core/otlp/json';
import { itemCount, type Span, type Trace } from '../../core/signals';
import { RotatingWriter } from './rotating-writer';

export interface FileConfig {
  path: string;
  format: 'json';
  append: boolean;
  flush_interval: number;
  rotation: { max_megabytes: number; max_days: number; max_backups: number; localtime: boolean };
}

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/**
 * Writes OTLP/JSON lines, one ExportTraceServiceRequest per batch, as the
 * Collector's file exporter does; the file can be read back by any OTLP/JSON
 * reader (and by the Collector's otlpjsonfile receiver).
 */
export const fileFactory: ExporterFactory<FileConfig> = {
  kind: 'exporter',
  type: 'file',
  schema: {
    path: { doc: 'file to write (relative to the config file)', format: String, default: '' },
    format: { doc: 'json: OTLP/JSON, one request per line', format: ['json'], default: 'json' },
    append: { doc: 'append to an existing file instead of truncating it', format: Boolean, default: false },
    flush_interval: { doc: 'how often buffered lines are written', format: 'duration', default: '1s' },
    rotation: {
      max_megabytes: { doc: 'rotate when the file would grow past this size; 0 disables rotation', format: 'nat', default: 100 },
      max_days: { doc: 'remove rotated files older than this; 0 keeps them', format: 'nat', default: 0 },
      max_backups: { doc: 'rotated files kept; 0 keeps all', format: 'nat', default: 100 },
      localtime: { doc: 'timestamps in rotated file names use local time', format: Boolean, default: false },
    },
  },
  validate: (c) => (c.path ? [] : [{ path: 'path', message: 'required: the file to write' }]),
  accepts: () => ['spans', 'traces'],
  create(config, ctx): Exporter {
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
          writer.append(Buffer.from(JSON.stringify(toOtlpJson(spans), jsonReplacer) + '\n'));
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
