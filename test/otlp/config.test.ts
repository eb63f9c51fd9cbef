import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigInvalid, parseConfig } from '../../core/config/load';
import { defaultRegistry } from '../../registry';

describe('OTLP components in pipeline.yaml', () => {
  const file = path.join(__dirname, 'testdata/pipeline.yaml');
  const env = { LINKER_TOKEN: 'tok', VENDOR_KEY: 'k' };

  it('takes a Collector block unchanged, with aliases, durations in ms and env substitution', () => {
    const cfg = parseConfig(fs.readFileSync(file, 'utf8'), file, defaultRegistry(), env);
    const otlp = cfg.components.get('exporter:otlp')!;
    expect(otlp.type).to.equal('otlp_grpc');
    expect(otlp.config).to.have.property('sending_queue').that.deep.equals({ enabled: true, queue_size: 100, num_consumers: 4, block_on_overflow: false });
    expect(otlp.config).to.have.property('retry_on_failure').that.includes({ initial_interval: 5000, max_interval: 30000, max_elapsed_time: 300000, multiplier: 1.5 });
    const vendor = cfg.components.get('exporter:otlphttp/vendor')!;
    expect(vendor.type).to.equal('otlp_http');
    expect(vendor.config).to.include({ endpoint: 'https://otlp.vendor.example', compression: 'gzip', timeout: 10000 });
    expect(vendor.config).to.have.property('headers').that.deep.equals({ 'api-key': 'k' });
    const recv = cfg.components.get('receiver:otlp')!;
    expect(recv.config).to.have.nested.property('protocols.http.auth.bearer_token', 'tok');
    expect(cfg.pipelines[0].signals).to.deep.equal(['spans']);
  });

  it('names the key of a mistake', () => {
    const bad = fs
      .readFileSync(file, 'utf8')
      .replace('compression: gzip', 'compression: brotli')
      .replace('num_consumers: 4', 'num_consumer: 4')
      .replace('endpoint: 0.0.0.0:4317', 'endpoint: nowhere');
    try {
      parseConfig(bad, file, defaultRegistry(), env);
      expect.fail('should not load');
    } catch (e) {
      const text = (e as ConfigInvalid).errors.map((x) => `${x.path}: ${x.message}`).join('\n');
      expect(text).to.match(/exporters\.otlphttp\/vendor\.compression/);
      expect(text).to.match(/exporters\.otlp\.sending_queue\.num_consumer: unknown key/);
    }
    const badEndpoint = fs.readFileSync(file, 'utf8').replace('endpoint: 0.0.0.0:4317', 'endpoint: nowhere');
    expect(() => parseConfig(badEndpoint, file, defaultRegistry(), env)).to.throw(/receivers\.otlp\.protocols\.grpc\.endpoint/);
  });
});
