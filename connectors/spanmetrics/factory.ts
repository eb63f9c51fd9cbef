import type { ConnectorFactory } from '../../core/component';
import { parseDuration } from '../../core/config/duration';
import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';
import { SpanMetricsConnector, type Dimension } from './connector';

/** The Collector's defaults: 2ms … 15s. */
const DEFAULT_BUCKETS = ['2ms', '4ms', '6ms', '8ms', '10ms', '50ms', '100ms', '200ms', '400ms', '800ms', '1s', '1400ms', '2s', '5s', '10s', '15s'];
const TEMPORALITIES = ['AGGREGATION_TEMPORALITY_CUMULATIVE', 'AGGREGATION_TEMPORALITY_DELTA'] as const;

export const schema = {
  histogram: {
    disable: setting.bool(false, 'Do not produce the duration histogram.'),
    unit: setting.oneOf(['ms', 's'], 'ms', 'Unit of the duration histogram: ms or s.'),
    explicit: {
      // durations checked by validate, which names the bad entry
      buckets: setting.custom<Array<string | number>>(Array, DEFAULT_BUCKETS, 'Histogram bucket bounds as durations ("2ms", "1s").'),
    },
  },
  // entries checked by validate, which names the bad one
  dimensions: setting.custom<Dimension[]>(
    Array,
    [{ name: 'server.address' }, { name: 'db.system.name' }],
    'Extra dimensions: span attribute (then resource attribute) names, each with an optional default. By default the peer (server.address) and the database system, so requests are counted per service, operation and peer.',
  ),
  exclude_dimensions: setting.stringList([], 'Dimensions to leave out, including the standard service.name, span.name, span.kind, status.code.'),
  namespace: setting.string('traces.span.metrics', 'Prefix of the metric names (<namespace>.calls, <namespace>.duration).'),
  metrics_flush_interval: setting.duration('60s', 'How often the metrics are emitted.'),
  metrics_expiration: setting.duration('0', 'Cumulative series not updated for this long are dropped; 0 keeps them.'),
  aggregation_temporality: setting.oneOf(TEMPORALITIES, 'AGGREGATION_TEMPORALITY_CUMULATIVE', 'AGGREGATION_TEMPORALITY_CUMULATIVE or AGGREGATION_TEMPORALITY_DELTA.'),
  aggregation_cardinality_limit: setting.nat(
    10000,
    'Series kept at most; spans of further dimension sets count into an otel.metric.overflow=true series. (The Collector allows 0 for no limit; espan keeps memory bounded.)',
  ),
};

export type SpanMetricsConfig = ConfigOf<typeof schema>;

export const spanMetricsFactory: ConnectorFactory<SpanMetricsConfig, 'spans', 'metrics'> = {
  kind: 'connector',
  type: 'spanmetrics',
  accepts: () => ['spans'],
  produces: () => 'metrics',
  schema,
  validate(config) {
    const problems: ConfigProblem[] = [];
    config.histogram.explicit.buckets.forEach((b, i) => {
      if (parseDuration(b) === undefined) problems.push({ path: `histogram.explicit.buckets.${i}`, message: 'must be a duration such as "2ms" or "1s"' });
    });
    const ms = config.histogram.explicit.buckets.map((b) => parseDuration(b) ?? 0);
    if (ms.some((v, i) => i > 0 && v <= ms[i - 1])) problems.push({ path: 'histogram.explicit.buckets', message: 'must be strictly increasing' });
    config.dimensions.forEach((d, i) => {
      if (typeof d !== 'object' || d === null || typeof d.name !== 'string' || !d.name) problems.push({ path: `dimensions.${i}`, message: 'must be a mapping with a "name"' });
      else if (d.default !== undefined && d.default !== null && typeof d.default !== 'string') problems.push({ path: `dimensions.${i}.default`, message: 'must be a string' });
    });
    if (config.metrics_flush_interval <= 0) problems.push({ path: 'metrics_flush_interval', message: 'must be greater than 0' });
    if (config.aggregation_cardinality_limit < 1) problems.push({ path: 'aggregation_cardinality_limit', message: 'must be at least 1' });
    return problems;
  },
  create(config) {
    const perUnit = config.histogram.unit === 'ms' ? 1 : 1000;
    return new SpanMetricsConnector({
      namespace: config.namespace,
      buckets: config.histogram.explicit.buckets.map((b) => (parseDuration(b) ?? 0) / perUnit),
      unit: config.histogram.unit,
      histogramDisabled: config.histogram.disable,
      dimensions: config.dimensions.map((d) => (d.default === undefined || d.default === null ? { name: d.name } : { name: d.name, default: d.default })),
      excludeDimensions: config.exclude_dimensions,
      flushIntervalMs: config.metrics_flush_interval,
      temporality: config.aggregation_temporality === 'AGGREGATION_TEMPORALITY_DELTA' ? 'delta' : 'cumulative',
      cardinalityLimit: config.aggregation_cardinality_limit,
      expirationMs: config.metrics_expiration,
    });
  },
};
