import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { parse } from 'yaml';
import { resolveConfig } from '../../core/config/schema';
import type { ComponentContext } from '../../core/component';
import { SpanKind, StatusCode, type MetricPoint, type Resource, type Span } from '../../core/signals';
import { SpanMetricsConnector, type SpanMetricsOptions } from './connector';
import { spanMetricsFactory, type SpanMetricsConfig } from './factory';

const CHECKOUT: Resource = { attributes: { 'service.name': 'checkout', 'process.pid': 1 } };
const CART: Resource = { attributes: { 'service.name': 'cart' } };

function span(name: string, kind: SpanKind, durationMs: number, over: Partial<Span> = {}): Span {
  return {
    traceId: '',
    spanId: '0000000000000001',
    name,
    kind,
    startTimeUnixNano: 1_000_000_000n,
    endTimeUnixNano: 1_000_000_000n + BigInt(Math.round(durationMs * 1e6)),
    attributes: {},
    events: [],
    links: [],
    status: { code: StatusCode.UNSET },
    resource: CHECKOUT,
    scope: { name: 'espan' },
    ...over,
  };
}

const OPTS: SpanMetricsOptions = {
  namespace: 'traces.span.metrics',
  buckets: [2, 10, 100],
  unit: 'ms',
  histogramDisabled: false,
  dimensions: [{ name: 'server.address' }, { name: 'db.system.name' }],
  excludeDimensions: [],
  flushIntervalMs: 60_000,
  temporality: 'cumulative',
  cardinalityLimit: 100,
  expirationMs: 0,
};

function find(points: MetricPoint[], name: string, attrs: Record<string, unknown>): MetricPoint | undefined {
  return points.find((p) => p.name === name && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
}

describe('spanmetrics connector', () => {
  let c: SpanMetricsConnector | undefined;
  afterEach(async () => c?.shutdown());

  it('counts requests and errors and builds duration histograms per service, operation, kind and peer', () => {
    c = new SpanMetricsConnector(OPTS);
    c.consume(
      [
        span('GET', SpanKind.SERVER, 1),
        span('GET', SpanKind.SERVER, 5),
        span('GET', SpanKind.SERVER, 500, { status: { code: StatusCode.ERROR } }),
        span('GET', SpanKind.CLIENT, 10, { attributes: { 'server.address': 'redis.local', 'db.system.name': 'redis' } }),
        span('GET', SpanKind.SERVER, 3, { resource: CART }),
      ],
      'spans',
    );
    c.consume([span('ignored', SpanKind.SERVER, 1)], 'traces');
    const points = c.collect();
    const ok = { 'service.name': 'checkout', 'span.name': 'GET', 'span.kind': 'SPAN_KIND_SERVER', 'status.code': 'STATUS_CODE_UNSET' };
    const calls = find(points, 'traces.span.metrics.calls', ok)!;
    expect(calls.kind).to.equal('sum');
    expect(calls.value).to.equal(2);
    expect(calls.resource).to.equal(CHECKOUT);
    expect(calls.attributes).to.deep.equal(ok);
    const hist = find(points, 'traces.span.metrics.duration', ok)!;
    expect(hist).to.include({ kind: 'histogram', unit: 'ms', count: 2, sum: 6, min: 1, max: 5 });
    expect(hist.bucketCounts).to.deep.equal([1, 1, 0, 0]);
    expect(hist.explicitBounds).to.deep.equal([2, 10, 100]);
    const errors = find(points, 'traces.span.metrics.calls', { 'service.name': 'checkout', 'status.code': 'STATUS_CODE_ERROR' })!;
    expect(errors.value).to.equal(1);
    expect(find(points, 'traces.span.metrics.duration', { 'status.code': 'STATUS_CODE_ERROR' })!.bucketCounts).to.deep.equal([0, 0, 0, 1]);
    const client = find(points, 'traces.span.metrics.calls', { 'span.kind': 'SPAN_KIND_CLIENT' })!;
    expect(client.attributes).to.include({ 'server.address': 'redis.local', 'db.system.name': 'redis' });
    // upper-inclusive buckets: exactly 10 ms falls in (2, 10]
    expect(find(points, 'traces.span.metrics.duration', { 'span.kind': 'SPAN_KIND_CLIENT' })!.bucketCounts).to.deep.equal([0, 1, 0, 0]);
    expect(find(points, 'traces.span.metrics.calls', { 'service.name': 'cart' })!.resource).to.equal(CART);
    expect(points).to.have.length(8);
  });

  it('keeps cumulative counts and start times across flushes; delta resets them', () => {
    const ts = new TestScheduler(() => undefined);
    ts.run(({ flush }) => {
      const cum = new SpanMetricsConnector({ ...OPTS, flushIntervalMs: 1000 }, ts);
      const del = new SpanMetricsConnector({ ...OPTS, flushIntervalMs: 1000, temporality: 'delta' }, ts);
      const seen = { cum: [] as MetricPoint[][], del: [] as MetricPoint[][] };
      cum.output.subscribe((b) => seen.cum.push(b));
      del.output.subscribe((b) => seen.del.push(b));
      for (const x of [cum, del]) x.consume([span('GET', SpanKind.SERVER, 1)], 'spans');
      ts.schedule(() => {
        for (const x of [cum, del]) x.consume([span('GET', SpanKind.SERVER, 1), span('GET', SpanKind.SERVER, 1)], 'spans');
      }, 1500);
      ts.schedule(() => {
        void cum.shutdown();
        void del.shutdown();
      }, 2500);
      flush();
      const calls = (b: MetricPoint[]) => b.find((p) => p.name.endsWith('.calls'))!;
      expect(seen.cum.map((b) => calls(b).value)).to.deep.equal([1, 3, 3]);
      expect(seen.cum.map((b) => calls(b).startTimeUnixNano)).to.deep.equal([0n, 0n, 0n]);
      expect(seen.cum.map((b) => calls(b).timeUnixNano)).to.deep.equal([1_000_000_000n, 2_000_000_000n, 2_500_000_000n]);
      // delta: nothing new between 2 s and the shutdown at 2.5 s, so no third batch
      expect(seen.del.map((b) => calls(b).value)).to.deep.equal([1, 2]);
      expect(seen.del.map((b) => calls(b).startTimeUnixNano)).to.deep.equal([0n, 1_000_000_000n]);
      expect(seen.del[0][0].temporality).to.equal('delta');
    });
  });

  it('flushes what it holds and completes on shutdown', async () => {
    c = new SpanMetricsConnector(OPTS);
    const all = lastValueFrom(c.output.pipe(toArray()));
    c.consume([span('GET', SpanKind.SERVER, 1)], 'spans');
    await c.shutdown();
    const batches = await all;
    expect(batches).to.have.length(1);
    expect(batches[0]).to.have.length(2);
  });

  it('stays within the cardinality limit with an overflow series', () => {
    c = new SpanMetricsConnector({ ...OPTS, cardinalityLimit: 3 });
    for (let i = 0; i < 10; i++) c.consume([span(`op${i}`, SpanKind.SERVER, 1)], 'spans');
    const points = c.collect();
    expect(c.seriesCount).to.equal(4);
    expect(find(points, 'traces.span.metrics.calls', { 'otel.metric.overflow': true })!.value).to.equal(7);
    expect(c.overflowed).to.equal(7);
  });

  it('excludes dimensions, applies defaults and can drop the histogram', () => {
    c = new SpanMetricsConnector({ ...OPTS, histogramDisabled: true, excludeDimensions: ['status.code'], dimensions: [{ name: 'http.request.method', default: 'GET' }, { name: 'process.pid' }] });
    c.consume([span('x', SpanKind.SERVER, 1, { status: { code: StatusCode.ERROR } }), span('x', SpanKind.SERVER, 1)], 'spans');
    const points = c.collect();
    expect(points).to.have.length(1);
    expect(points[0].attributes).to.deep.equal({ 'service.name': 'checkout', 'span.name': 'x', 'span.kind': 'SPAN_KIND_SERVER', 'http.request.method': 'GET', 'process.pid': 1 });
    expect(points[0].value).to.equal(2);
  });

  it('drops cumulative series idle past metrics_expiration', () => {
    const ts = new TestScheduler(() => undefined);
    ts.run(({ flush }) => {
      const x = new SpanMetricsConnector({ ...OPTS, flushIntervalMs: 1000, expirationMs: 1500 }, ts);
      const sizes: number[] = [];
      x.output.subscribe((b) => sizes.push(b.length));
      x.consume([span('old', SpanKind.SERVER, 1)], 'spans');
      ts.schedule(() => x.consume([span('new', SpanKind.SERVER, 1)], 'spans'), 1500);
      ts.schedule(() => void x.shutdown(), 3200);
      flush();
      // 1 s: old; 2 s: old expired (idle 2 s), new; 3 s: new (idle 1.5 s); 3.2 s: new expired, nothing to emit
      expect(sizes).to.deep.equal([2, 2, 2]);
    });
  });
});

describe('spanmetrics factory', () => {
  it('takes a Collector spanmetrics block unchanged', () => {
    const raw = parse(fs.readFileSync(path.join(__dirname, 'testdata/config.yaml'), 'utf8'));
    const { config, problems } = resolveConfig<SpanMetricsConfig>(spanMetricsFactory.schema, raw);
    expect(problems).to.deep.equal([]);
    expect(spanMetricsFactory.validate!(config!)).to.deep.equal([]);
    expect(config!.metrics_flush_interval).to.equal(15_000);
    expect(config!.metrics_expiration).to.equal(300_000);
    expect(config!.dimensions).to.deep.equal([{ name: 'http.request.method', default: 'GET' }, { name: 'http.response.status_code' }]);
    const ctx = {} as ComponentContext;
    const conn = spanMetricsFactory.create(config!, ctx) as SpanMetricsConnector;
    conn.consume([span('GET', SpanKind.SERVER, 0.5)], 'spans');
    const points = conn.collect();
    expect(points[0].temporality).to.equal('delta');
    expect(points[1].explicitBounds).to.deep.equal([0.1, 1, 2, 6, 10, 100, 250]);
    expect(points[1].bucketCounts).to.deep.equal([0, 1, 0, 0, 0, 0, 0, 0]);
    void conn.shutdown();
  });

  it('defaults to the Collector buckets and refuses bad ones', () => {
    const { config } = resolveConfig<SpanMetricsConfig>(spanMetricsFactory.schema, {});
    expect(config!.histogram.explicit.buckets).to.have.length(16);
    expect(config!.metrics_flush_interval).to.equal(60_000);
    const bad = resolveConfig<SpanMetricsConfig>(spanMetricsFactory.schema, { histogram: { explicit: { buckets: ['1s', 'soon', '500ms'] } }, dimensions: [{ nam: 'x' }] });
    const problems = spanMetricsFactory.validate!(bad.config!);
    expect(problems.map((p) => p.path)).to.deep.equal(['histogram.explicit.buckets.1', 'histogram.explicit.buckets', 'dimensions.0']);
  });
});
