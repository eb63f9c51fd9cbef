/**
 * End to end on the demo system: espan (ebpf → … → linking → tail_sampling →
 * file) running as a Service while real, uninstrumented services answer
 * requests. For N requests there must be exactly N traces rooted at the front
 * service, each with its calls across processes (TCP sequence) and within
 * processes (threads), named from the services' environments.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../core/config/load';
import { Service } from '../../core/service';
import { memoryLogger } from '../../core/telemetry/logger';
import { defaultRegistry } from '../../registry';
import { checkout, startDemoSystem, type DemoSystem } from '../../demo/system';
import { ebpfUnavailable } from '../ebpf/harness';
import { missingPrograms } from '../helpers/servers';

interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  service: string;
  pid: number;
}

function attr(s: JsonSpan, key: string): unknown {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
}

function readSpans(file: string): JsonSpan[] {
  const spans: JsonSpan[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    for (const rs of JSON.parse(line).resourceSpans) {
      const res = Object.fromEntries(rs.resource.attributes.map((a: any) => [a.key, Object.values(a.value)[0]]));
      for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service: res['service.name'], pid: Number(res['process.pid']) });
    }
  }
  return spans;
}

const SERVER = 2;
const CLIENT = 3;
const REQUESTS = 12;

describe('end to end: the demo system traced by espan', function () {
  this.timeout(120_000);
  let system: DemoSystem | undefined;
  let dir: string;

  before(function () {
    const why = ebpfUnavailable() ?? (missingPrograms('redis-server', 'mariadbd', 'mariadb-install-db').join(', ') || undefined);
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-e2e-'));
  });
  after(async () => {
    await system?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`turns ${REQUESTS} requests into exactly ${REQUESTS} complete front-service traces`, async () => {
    system = await startDemoSystem();
    const out = path.join(dir, 'traces.json');
    const cfg = parseConfig(
      `
receivers:
  ebpf: {trace_all_processes: false}
processors:
  parse: {}
  thread_correlation: {}
  propagation: {}
  span_builder: {}
  linking: {}
  tail_sampling: {decision_wait: 2s, policies: [{name: all, type: always_sample}]}
exporters:
  file: {path: ${JSON.stringify(out)}}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces:
      receivers: [ebpf]
      processors: [parse, thread_correlation, propagation, span_builder, linking, tail_sampling]
      exporters: [file]
`,
      'e2e.yaml',
      defaultRegistry(),
      {},
    );
    const espan = new Service(cfg, { logger: memoryLogger() });
    await espan.start();
    await new Promise((r) => setTimeout(r, 1000));
    // One request at a time: the Node service's event loop then serves one
    // request at a time too, so its calls can be attributed without guessing.
    for (let i = 0; i < REQUESTS; i++) expect(await checkout(system.frontPort, 1 + (i % 3))).to.equal(200);
    await new Promise((r) => setTimeout(r, 1500));
    const report = await espan.shutdown();
    expect(report.lost).to.equal(0);

    const spans = readSpans(out);
    if (process.env.E2E_DUMP) fs.copyFileSync(out, process.env.E2E_DUMP);
    expect(spans.filter((s) => s.pid === process.pid), 'spans of espan itself').to.deep.equal([]);
    const byTrace = new Map<string, JsonSpan[]>();
    for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
    const roots = spans.filter((s) => s.kind === SERVER && s.service === 'front' && !s.parentSpanId && attr(s, 'url.path') === '/checkout');
    expect(roots, 'front-service traces').to.have.length(REQUESTS);
    expect(new Set(roots.map((r) => r.traceId)).size).to.equal(REQUESTS);

    for (const root of roots) {
      const trace = byTrace.get(root.traceId)!;
      const children = (p: JsonSpan) => trace.filter((s) => s.parentSpanId === p.spanId);
      const calls = children(root);
      expect(calls.every((c) => c.kind === CLIENT && c.service === 'front')).to.equal(true);
      // within the front process, by thread: its Redis, MySQL and HTTP calls
      const redisCall = calls.find((c) => attr(c, 'db.system.name') === 'redis' && attr(c, 'db.operation.name') === 'INCRBY'); // redis-py's incr()
      const mysqlCall = calls.find((c) => attr(c, 'db.system.name') === 'mysql' && attr(c, 'db.operation.name') === 'SELECT');
      const httpCall = calls.find((c) => attr(c, 'http.request.method') === 'GET');
      expect(redisCall, 'front → redis INCRBY').to.exist;
      expect(mysqlCall, 'front → mariadb SELECT').to.exist;
      expect(httpCall, 'front → inventory GET').to.exist;
      // across processes, by TCP sequence: each call's server side
      expect(children(redisCall!).map((s) => [s.kind, s.service])).to.deep.equal([[SERVER, 'redis']]);
      expect(children(mysqlCall!).map((s) => [s.kind, s.service])).to.deep.equal([[SERVER, 'mariadb']]);
      const [inventory] = children(httpCall!);
      expect([inventory?.kind, inventory?.service]).to.deep.equal([SERVER, 'inventory']);
      // and the inventory service's own Redis calls, under its server span
      const inventoryCalls = children(inventory).map((s) => attr(s, 'db.operation.name'));
      expect(inventoryCalls).to.have.members(['HGET', 'HINCRBY']);
      expect(trace.every((s) => ['front', 'inventory', 'redis', 'mariadb'].includes(s.service))).to.equal(true);
    }
  });
});
