import { expect } from 'chai';
import { componentTelemetry, ServiceMetrics } from './metrics';

describe('component telemetry', () => {
  it('counts into bound label sets that the registry reads', async () => {
    const metrics = new ServiceMetrics();
    const count = componentTelemetry(metrics, 'processor', 'parse').counter('espan_test_messages_total', 'test', ['protocol']);
    count(3, { protocol: 'http' });
    count(2, { protocol: 'redis' });
    count(4, { protocol: 'http' });
    expect(await metrics.total('espan_test_messages_total', { component: 'parse', protocol: 'http' })).to.equal(7);
    expect(await metrics.total('espan_test_messages_total', { protocol: 'redis' })).to.equal(2);
    count(1, { protocol: 'http' });
    expect(await metrics.total('espan_test_messages_total', { protocol: 'http' })).to.equal(8);
    expect(await metrics.registry.metrics()).to.include('espan_test_messages_total{component="parse",protocol="http"} 8');
  });

  it('keeps the components of one metric apart, with several labels and none', async () => {
    const metrics = new ServiceMetrics();
    const a = componentTelemetry(metrics, 'processor', 'a').counter('espan_test_pairs_total', 'test', ['x', 'y']);
    const b = componentTelemetry(metrics, 'processor', 'b').counter('espan_test_pairs_total', 'test', ['x', 'y']);
    const plain = componentTelemetry(metrics, 'processor', 'a').counter('espan_test_plain_total', 'test');
    a(1, { x: 'p', y: 'q' });
    a(1, { x: 'p', y: 'r' });
    b(5, { x: 'p', y: 'q' });
    plain(2);
    plain(0);
    expect(await metrics.total('espan_test_pairs_total', { component: 'a', y: 'q' })).to.equal(1);
    expect(await metrics.total('espan_test_pairs_total', { component: 'a' })).to.equal(2);
    expect(await metrics.total('espan_test_pairs_total', { component: 'b' })).to.equal(5);
    expect(await metrics.total('espan_test_plain_total')).to.equal(2);
  });

  it('reports a gauge at its latest value', async () => {
    const metrics = new ServiceMetrics();
    const held = componentTelemetry(metrics, 'processor', 'tc').gauge('espan_test_held', 'test');
    held(10);
    held(4);
    expect(await metrics.total('espan_test_held')).to.equal(4);
    held(6);
    expect(await metrics.total('espan_test_held')).to.equal(6);
  });

  it('throws at the call for a label the metric does not have', () => {
    const metrics = new ServiceMetrics();
    const count = componentTelemetry(metrics, 'processor', 'p').counter('espan_test_wrong_total', 'test', ['reason']);
    expect(() => count(1, { cause: 'x' })).to.throw(/label/i);
  });
});

describe('service metrics', () => {
  it("counts a counter's bound children into the registry", async () => {
    const metrics = new ServiceMetrics();
    const incoming = metrics.processorIncoming.labels({ processor: 'parse', pipeline: 'traces', signal: 'records' });
    const other = metrics.processorIncoming.labels({ processor: 'batch', pipeline: 'traces', signal: 'spans' });
    incoming.inc(5);
    incoming.inc(7);
    other.inc();
    expect(await metrics.total('espan_processor_incoming_items_total', { processor: 'parse' })).to.equal(12);
    expect(await metrics.total('espan_processor_incoming_items_total', { processor: 'batch' })).to.equal(1);
    incoming.inc(1);
    expect(await metrics.registry.metrics()).to.include('espan_processor_incoming_items_total{processor="parse",pipeline="traces",signal="records"} 13');
  });
});
