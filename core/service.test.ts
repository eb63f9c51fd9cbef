import { expect } from 'chai';
import { Observable, Subject } from 'rxjs';
import { parseConfig } from './config/load';
import { Service } from './service';
import { memoryLogger } from './telemetry/logger';
import { sinks, sources, testRegistry } from '../test/helpers/components';
import type { ConnectorFactory } from './component';
import { Registry } from './component';
import { factories } from '../registry';
import { testSourceFactory, testSinkFactory, holdFactory, toSpansFactory } from '../test/helpers/components';

function service(yaml: string, registry = testRegistry()): Service {
  return new Service(parseConfig(yaml, 'test.yaml', registry, {}), { logger: memoryLogger(), shutdownDeadlineMs: 2000 });
}

const NO_METRICS = 'telemetry: {metrics: {level: none}}';

describe('service: pipeline assembly and lifecycle', () => {
  beforeEach(() => {
    sources.clear();
    sinks.clear();
  });

  it('fans in from several receivers and out to several exporters', async () => {
    const svc = service(`
receivers:
  test_source/a:
  test_source/b:
exporters:
  test_sink/x:
  test_sink/y:
service:
  ${NO_METRICS}
  pipelines:
    traces: {receivers: [test_source/a, test_source/b], exporters: [test_sink/x, test_sink/y]}
`);
    await svc.start();
    sources.get('test_source/a')!.next([1, 2]);
    sources.get('test_source/b')!.next([3]);
    sources.get('test_source/a')!.next([]);
    const report = await svc.shutdown();
    expect(report).to.deep.equal({ lost: 0, failures: [] });
    for (const id of ['test_sink/x', 'test_sink/y']) {
      expect(sinks.get(id)!.items()).to.deep.equal([1, 2, 3]);
      // batches pass as batches, empty ones are not exported
      expect(sinks.get(id)!.batches.map((b) => b.items.length)).to.deep.equal([2, 1]);
    }
    expect(await svc.metrics.total('espan_receiver_accepted_items_total')).to.equal(3);
  });

  it('counts what the nop exporter takes as sent and nothing as failed', async () => {
    const svc = service(`
receivers:
  test_source:
exporters:
  nop:
service:
  ${NO_METRICS}
  pipelines:
    traces: {receivers: [test_source], exporters: [nop]}
`);
    await svc.start();
    sources.get('test_source')!.next([1, 2, 3]);
    await svc.shutdown();
    expect(await svc.metrics.total('espan_exporter_sent_items_total', { exporter: 'nop' })).to.equal(3);
    expect(await svc.metrics.total('espan_exporter_send_failed_items_total')).to.equal(0);
  });

  it('shares one receiver between pipelines and keeps their processors apart', async () => {
    const svc = service(`
receivers:
  test_source:
processors:
  hold:
exporters:
  test_sink/held:
  test_sink/direct:
service:
  ${NO_METRICS}
  pipelines:
    traces/held: {receivers: [test_source], processors: [hold], exporters: [test_sink/held]}
    traces/direct: {receivers: [test_source], exporters: [test_sink/direct]}
`);
    await svc.start();
    sources.get('test_source')!.next(['a']);
    sources.get('test_source')!.next(['b']);
    expect(sinks.get('test_sink/direct')!.items()).to.deep.equal(['a', 'b']);
    expect(sinks.get('test_sink/held')!.items()).to.deep.equal([]);
    await svc.shutdown();
    expect(sinks.get('test_sink/held')!.items()).to.deep.equal(['a', 'b']);
  });

  it('flushes what processors hold at shutdown before exporters stop', async () => {
    const svc = service(`
receivers:
  test_source:
processors:
  hold:
  batch: {send_batch_size: 1000, timeout: 1h}
exporters:
  test_sink:
service:
  ${NO_METRICS}
  pipelines:
    traces: {receivers: [test_source], processors: [hold, batch], exporters: [test_sink]}
`);
    await svc.start();
    const items = Array.from({ length: 2500 }, (_, i) => i);
    for (let i = 0; i < items.length; i += 100) sources.get('test_source')!.next(items.slice(i, i + 100));
    await svc.shutdown();
    expect(sinks.get('test_sink')!.items()).to.deep.equal(items);
    expect(sinks.get('test_sink')!.shutdownCalled).to.equal(true);
  });

  it('reports items an exporter could not deliver at shutdown as lost', async () => {
    const losing = { ...testSinkFactory, type: 'losing_sink', create: () => ({ consume() {}, shutdown: async () => ({ lost: 7 }) }) };
    const svc = service(
      `
receivers:
  test_source:
exporters:
  losing_sink:
service:
  ${NO_METRICS}
  pipelines:
    traces: {receivers: [test_source], exporters: [losing_sink]}
`,
      new Registry([...factories, testSourceFactory, losing]),
    );
    await svc.start();
    expect((await svc.shutdown()).lost).to.equal(7);
  });

  it('keeps running other pipelines when one exporter throws, counting the failure', async () => {
    const throwing = { ...testSinkFactory, type: 'throwing_sink', create: () => ({ consume() { throw new Error('disk full'); }, shutdown: async () => ({ lost: 0 }) }) };
    const svc = service(
      `
receivers:
  test_source:
exporters:
  throwing_sink:
  test_sink:
service:
  ${NO_METRICS}
  pipelines:
    traces: {receivers: [test_source], exporters: [throwing_sink, test_sink]}
`,
      new Registry([...factories, testSourceFactory, throwing, testSinkFactory]),
    );
    await svc.start();
    sources.get('test_source')!.next([1, 2, 3]);
    sources.get('test_source')!.next([4]);
    await svc.shutdown();
    expect(sinks.get('test_sink')!.items()).to.deep.equal([1, 2, 3, 4]);
    expect(await svc.metrics.total('espan_exporter_send_failed_items_total', { exporter: 'throwing_sink' })).to.equal(4);
  });

  it('runs a connector between two pipelines and stops it after its inputs', async () => {
    const counted: ConnectorFactory = {
      kind: 'connector',
      type: 'count',
      schema: {},
      accepts: () => ['records'],
      produces: () => 'metrics',
      create() {
        const out = new Subject<unknown[]>();
        let n = 0;
        return {
          consume: (b) => void (n += b.length),
          output: out.asObservable() as Observable<any>,
          shutdown: async () => {
            out.next([{ count: n }]);
            out.complete();
          },
        };
      },
    };
    const svc = service(
      `
receivers:
  test_source:
connectors:
  count:
exporters:
  test_sink:
service:
  ${NO_METRICS}
  pipelines:
    traces: {receivers: [test_source], exporters: [count]}
    metrics: {receivers: [count], exporters: [test_sink]}
`,
      new Registry([...factories, testSourceFactory, testSinkFactory, holdFactory, toSpansFactory, counted]),
    );
    await svc.start();
    sources.get('test_source')!.next([1, 2, 3]);
    await svc.shutdown();
    expect(sinks.get('test_sink')!.items()).to.deep.equal([{ count: 3 }]);
  });
});
