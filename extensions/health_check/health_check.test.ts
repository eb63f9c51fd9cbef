import { expect } from 'chai';
import { parseConfig } from '../../core/config/load';
import { Service } from '../../core/service';
import { memoryLogger } from '../../core/telemetry/logger';
import { testRegistry, sources } from '../../test/helpers/components';

describe('health_check extension and Prometheus self-metrics', () => {
  it('answers 200 while running, and /metrics counts per component', async () => {
    const cfg = parseConfig(
      `
receivers: {test_source: {}}
exporters: {nop: {}}
extensions: {health_check: {endpoint: "127.0.0.1:0", path: /healthz}}
service:
  extensions: [health_check]
  telemetry: {metrics: {address: "127.0.0.1:0"}}
  pipelines: {traces: {receivers: [test_source], exporters: [nop]}}
`,
      'test.yaml',
      testRegistry(),
      {},
    );
    const svc = new Service(cfg, { logger: memoryLogger() });
    await svc.start();
    try {
      const ext = (svc as unknown as { extensions: Map<string, { address: string }> }).extensions.get('health_check')!;
      const ok = await fetch(`http://${ext.address}/healthz`);
      expect(ok.status).to.equal(200);
      expect(await ok.json()).to.include({ status: 'Server available' });
      expect((await fetch(`http://${ext.address}/other`)).status).to.equal(404);

      sources.get('test_source')!.next([1, 2, 3]);
      const address = (svc as unknown as { metricsServer: { address: string } }).metricsServer.address;
      const text = await (await fetch(`http://${address}/metrics`)).text();
      expect(text).to.include('espan_receiver_accepted_items_total{receiver="test_source",signal="records"} 3');
      expect(text).to.include('espan_exporter_sent_items_total{exporter="nop",signal="records"} 3');
    } finally {
      await svc.shutdown();
    }
  });
});
