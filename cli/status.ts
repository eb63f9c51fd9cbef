/**
 * The live status: records/s, spans/s and drops, from the self-metrics. One
 * rewritten line on a TTY; a structured log line now and then otherwise.
 */
import type { ServiceMetrics } from '../core/telemetry/metrics';
import type { Logger } from '../core/telemetry/logger';

export interface StatusTotals {
  records: number;
  spans: number;
  drops: number;
}

const DROP_NAME = /(dropped|refused|failed|lost)/;

export async function statusTotals(metrics: ServiceMetrics): Promise<StatusTotals> {
  const records = await metrics.total('espan_receiver_accepted_items_total', { signal: 'records' });
  const spans =
    (await metrics.total('espan_exporter_sent_items_total', { signal: 'spans' })) +
    (await metrics.total('espan_exporter_sent_items_total', { signal: 'traces' }));
  let drops = 0;
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    if (m.type === ('counter' as unknown) && DROP_NAME.test(m.name)) {
      for (const v of m.values) drops += v.value;
    }
  }
  return { records, spans, drops };
}

export function startStatus(metrics: ServiceMetrics, logger: Logger, tty: boolean): () => void {
  let last: StatusTotals = { records: 0, spans: 0, drops: 0 };
  let lastAt = performance.now();
  const every = tty ? 1000 : 30_000;
  const timer = setInterval(async () => {
    const now = performance.now();
    const t = await statusTotals(metrics);
    const secs = (now - lastAt) / 1000;
    const recordsPerSec = Math.round((t.records - last.records) / secs);
    const spansPerSec = Math.round((t.spans - last.spans) / secs);
    if (tty) {
      process.stderr.write(`\r\x1b[2Krecords/s ${recordsPerSec.toLocaleString('en')}  spans/s ${spansPerSec.toLocaleString('en')}  drops ${t.drops.toLocaleString('en')}`);
    } else {
      logger.info('status', { records_per_sec: recordsPerSec, spans_per_sec: spansPerSec, records: t.records, spans: t.spans, drops: t.drops });
    }
    last = t;
    lastAt = now;
  }, every);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) process.stderr.write('\r\x1b[2K');
  };
}
