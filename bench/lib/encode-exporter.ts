/**
 * A bench-only exporter: encodes each batch of spans or traces into an OTLP
 * protobuf request, as the otlp exporters do before sending, and drops it.
 * Its CPU against nop's is the encoding's.
 */
import type { ExporterFactory } from '../../core/component';
import { encodeTraceRequest, flattenTraces } from '../../core/otlp';
import type { Span, Trace } from '../../core/signals';
import { itemCount } from '../../core/signals';

export const encodeExporterFactory: ExporterFactory<Record<string, never>> = {
  kind: 'exporter',
  type: 'otlp_encode',
  schema: {},
  accepts: () => ['spans', 'traces'],
  create: (_config, ctx) => ({
    consume: (batch, signal) => {
      encodeTraceRequest(signal === 'traces' ? flattenTraces(batch as Trace[]) : (batch as Span[]));
      ctx.telemetry.sent(itemCount(signal, batch), signal);
    },
    shutdown: async () => ({ lost: 0 }),
  }),
};
