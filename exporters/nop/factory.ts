import type { ExporterFactory } from '../../core/component';
import { itemCount, SIGNAL_TYPES } from '../../core/signals';

/** Takes everything and drops it, counting it as sent: the Collector's nop exporter, for benchmarks. */
export const nopFactory: ExporterFactory<Record<string, never>> = {
  kind: 'exporter',
  type: 'nop',
  schema: {},
  accepts: () => [...SIGNAL_TYPES],
  create: (_config, ctx) => ({
    consume: (batch, signal) => ctx.telemetry.sent(itemCount(signal, batch), signal),
    shutdown: async () => ({ lost: 0 }),
  }),
};
