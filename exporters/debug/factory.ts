import type { Exporter, ExporterFactory } from '../../core/component';
import { itemCount, SIGNAL_TYPES, type Batch, type L7Message, type MetricPoint, type NetworkRecord, type SignalType, type Span, type Trace } from '../../core/signals';
import { messageText, metricText, recordText, spansAsTraces, spanText, traceTree } from './format';

export interface DebugConfig {
  verbosity: 'basic' | 'normal' | 'detailed';
  sampling_initial: number;
  sampling_thereafter: number;
}

/** Renders a batch as lines of text; exported for tests. */
export function renderBatch(batch: Batch, signal: SignalType, verbosity: DebugConfig['verbosity']): string[] {
  const n = itemCount(signal, batch);
  if (verbosity === 'basic') return [`${signal}: ${n} ${signal === 'traces' ? `spans in ${batch.length} traces` : 'items'}`];
  const detailed = verbosity === 'detailed';
  switch (signal) {
    case 'records':
      return (batch as NetworkRecord[]).map((r) => recordText(r, detailed));
    case 'messages':
      return (batch as L7Message[]).map(messageText);
    case 'metrics':
      return (batch as MetricPoint[]).map(metricText);
    case 'spans':
      return detailed ? spansAsTraces(batch as Span[]).flatMap(traceTree) : (batch as Span[]).map((s) => spanText(s, false));
    case 'traces':
      return detailed ? (batch as Trace[]).flatMap(traceTree) : (batch as Trace[]).flatMap((t) => t.spans.map((s) => spanText(s, false)));
  }
}

/**
 * Prints what reaches it to stdout, as the Collector's debug exporter does:
 * `basic` one summary line per batch, `normal` one line per item, `detailed`
 * trace trees and payload dumps. Sampling limits output per second.
 */
export const debugFactory: ExporterFactory<DebugConfig> = {
  kind: 'exporter',
  type: 'debug',
  schema: {
    verbosity: { doc: 'basic, normal or detailed', format: ['basic', 'normal', 'detailed'], default: 'basic' },
    sampling_initial: { doc: 'batches printed each second before sampling starts', format: 'nat', default: 2 },
    sampling_thereafter: { doc: 'then print every Nth batch in that second', format: 'nat', default: 1 },
  },
  accepts: () => [...SIGNAL_TYPES],
  create(config, ctx): Exporter {
    let second = 0;
    let inSecond = 0;
    return {
      consume(batch, signal) {
        const now = Math.floor(Date.now() / 1000);
        if (now !== second) {
          second = now;
          inSecond = 0;
        }
        inSecond++;
        const n = itemCount(signal, batch);
        const past = inSecond - config.sampling_initial;
        if (past > 0 && (config.sampling_thereafter === 0 || past % config.sampling_thereafter !== 0)) {
          ctx.telemetry.sent(n, signal);
          return;
        }
        process.stdout.write(renderBatch(batch, signal, config.verbosity).join('\n') + '\n');
        ctx.telemetry.sent(n, signal);
      },
      shutdown: async () => ({ lost: 0 }),
    };
  },
};
