import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileFactory, type FileConfig } from './factory';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import { sampleTrace } from '../../test/helpers/spans';
import { configFrom, testContext } from '../../test/helpers/context';

function create(dir: string, block: Record<string, unknown>) {
  const metrics = new ServiceMetrics();
  const exporter = fileFactory.create(configFrom<FileConfig>(fileFactory, block), { ...testContext('exporter', 'file', metrics), configDir: dir });
  return { exporter, metrics };
}

describe('file exporter', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-file-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes one OTLP/JSON request per batch, grouped by resource', async () => {
    const { exporter, metrics } = create(dir, { path: 'out/spans.json' });
    exporter.consume(sampleTrace(), 'spans');
    exporter.consume([{ traceId: 'x', spans: sampleTrace().slice(0, 1) }], 'traces');
    await exporter.shutdown(1000);
    const lines = fs.readFileSync(path.join(dir, 'out/spans.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).to.have.length(2);
    const [first] = lines;
    const serviceName = (r: any) => r.resource.attributes.find((a: any) => a.key === 'service.name').value.stringValue;
    expect(first.resourceSpans.map(serviceName)).to.deep.equal(['front', 'back']);
    const server = first.resourceSpans[0].scopeSpans[0].spans[0];
    expect(server).to.deep.include({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: 'a000000000000001',
      name: 'GET /users',
      kind: 2,
      startTimeUnixNano: '1700000000000000000',
      endTimeUnixNano: '1700000000012300000',
    });
    expect(server.attributes).to.deep.equal([
      { key: 'http.request.method', value: { stringValue: 'GET' } },
      { key: 'http.response.status_code', value: { intValue: '200' } },
    ]);
    expect(first.resourceSpans[1].scopeSpans[0].spans[0].status).to.deep.equal({ code: 2, message: 'boom' });
    expect(server.status?.code ?? 0).to.equal(0);
    expect(await metrics.total('espan_exporter_sent_items_total')).to.equal(5);
  });

  it('rotates by size and keeps at most max_backups rotated files', async () => {
    const { exporter } = create(dir, { path: 'spans.json', rotation: { max_megabytes: 1, max_backups: 2 } });
    const big = sampleTrace().map((s) => ({ ...s, attributes: { pad: 'x'.repeat(100_000) } }));
    for (let i = 0; i < 40; i++) exporter.consume(big, 'spans'); // ~16 MB of lines
    await exporter.shutdown(1000);
    const files = fs.readdirSync(dir).sort();
    expect(files).to.include('spans.json');
    const backups = files.filter((f) => /^spans-\d{4}-\d\d-\d\dT[\d-]+\.\d+(\.\d+)?\.json$/.test(f));
    expect(backups).to.have.length(2);
    for (const f of files) expect(fs.statSync(path.join(dir, f)).size).to.be.at.most(1024 * 1024);
  });
});
