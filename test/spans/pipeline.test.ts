/**
 * The span stages inside a running Service, configured by a pipeline.yaml:
 * messages → thread_correlation → propagation → espan → spans, and the
 * spanmetrics connector turning those spans into a metrics pipeline.
 */
import { expect } from 'chai';
import { parseConfig } from '../../core/config/load';
import { Service } from '../../core/service';
import { SpanKind, type MetricPoint, type Span } from '../../core/signals';
import { memoryLogger } from '../../core/telemetry/logger';
import { sinks, sources, testRegistry } from '../helpers/components';
import { clientCall, serverRequest } from './messages';

const YAML = `
receivers:
  test_source:
    signal: messages
processors:
  thread_correlation:
    wait: 100ms
  propagation:
    propagators: [tracecontext, datadog]
  espan:
    resource:
      proc_root: /nonexistent
connectors:
  spanmetrics:
    metrics_flush_interval: 1h
    dimensions:
      - name: db.system.name
exporters:
  test_sink/spans: {}
  test_sink/metrics: {}
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [test_source]
      processors: [thread_correlation, propagation, espan]
      exporters: [test_sink/spans, spanmetrics]
    metrics:
      receivers: [spanmetrics]
      exporters: [test_sink/metrics]
`;

describe('span stages in a configured pipeline', () => {
  it('turns messages into linked eSpans and RED metrics, flushing everything at shutdown', async () => {
    const config = parseConfig(YAML, 'pipeline.yaml', testRegistry());
    const service = new Service(config, { logger: memoryLogger() });
    await service.start();
    const server = serverRequest(10, 1e6, 50e6, {
      http: { method: 'GET', target: '/x', path: '/x', version: '1.1', status: 200, headers: { 'x-datadog-trace-id': '42', 'x-datadog-parent-id': '7', 'x-datadog-sampling-priority': '2' } },
    });
    const call = clientCall(10, 5e6, 8e6, { redis: { command: 'GET', db: 0 } });
    sources.get('test_source')!.next([call]);
    sources.get('test_source')!.next([server]);
    const report = await service.shutdown();
    expect(report.failures).to.deep.equal([]);

    const spans = sinks.get('test_sink/spans')!.items<Span>();
    expect(spans).to.have.length(2);
    const s = spans.find((x) => x.kind === SpanKind.SERVER)!;
    const c = spans.find((x) => x.kind === SpanKind.CLIENT)!;
    expect(s.traceId).to.equal('0000000000000000000000000000002a');
    expect(s.parentSpanId).to.equal('0000000000000007');
    expect(c.attributes['espan.thread_trace_id']).to.equal(s.attributes['espan.thread_trace_id']);
    expect(c.attributes['db.system.name']).to.equal('redis');

    const points = sinks.get('test_sink/metrics')!.items<MetricPoint>();
    const calls = points.filter((p) => p.name === 'traces.span.metrics.calls');
    expect(calls.map((p) => [p.attributes['span.name'], p.attributes['span.kind'], p.attributes['db.system.name'], p.value]).sort()).to.deep.equal([
      ['GET', 'SPAN_KIND_CLIENT', 'redis', 1],
      ['GET', 'SPAN_KIND_SERVER', undefined, 1],
    ]);
  });
});
