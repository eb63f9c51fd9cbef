import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig, ConfigInvalid } from '../config/load';
import { Service } from '../service';
import { memoryLogger } from '../telemetry/logger';
import { defaultRegistry } from '../../registry';

const CAPTURE = path.join(__dirname, '../../bench/testdata/linking-two-hosts.espcap');

interface JsonKeyValue {
  key: string;
}

/** One sorted line per exported span (ids, times, status, attributes, resource), as bench/fingerprint.ts digests them. */
function canonicalSpans(otlpJsonLines: string): string[] {
  const sorted = (attrs: JsonKeyValue[] = []) => JSON.stringify([...attrs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
  const lines: string[] = [];
  for (const request of otlpJsonLines.split('\n').filter((l) => l.trim())) {
    for (const rs of JSON.parse(request).resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          lines.push([s.traceId, s.spanId, s.parentSpanId ?? '', s.name, s.kind ?? 0, s.startTimeUnixNano, s.endTimeUnixNano, JSON.stringify(s.status ?? {}), sorted(s.attributes), sorted(rs.resource?.attributes)].join(' '));
        }
      }
    }
  }
  return lines.sort();
}

function pipelineYaml(capture: string, out: string, processors: string[], workers: number): string {
  return `receivers: {replay: {path: ${JSON.stringify(capture)}}}
processors:
  parse: {}
  thread_correlation: {}
  propagation: {}
  span_builder: {}
  linking: {}
  tail_sampling: {decision_wait: 1s, policies: [{name: all, type: always_sample}]}
  batch: {}
exporters: {file: {path: ${JSON.stringify(out)}}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [${processors.join(', ')}], exporters: [file], workers: ${workers}}}
`;
}

async function run(capture: string, processors: string[], workers: number): Promise<{ spans: string[]; svc: Service }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-workers-'));
  const out = path.join(dir, 'spans.json');
  try {
    const svc = new Service(parseConfig(pipelineYaml(capture, out, processors, workers), 'workers.yaml', defaultRegistry(), {}), { logger: memoryLogger() });
    await svc.start();
    await svc.receiversFinished();
    const report = await svc.shutdown();
    expect(report.failures).to.deep.equal([]);
    return { spans: canonicalSpans(fs.readFileSync(out, 'utf8')), svc };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ALL_IN_ONE = ['parse', 'thread_correlation', 'propagation', 'span_builder', 'linking', 'tail_sampling'];
const AGENT = ['parse', 'thread_correlation', 'propagation', 'span_builder', 'batch'];

describe('stage workers', function () {
  this.timeout(60_000);

  it('give the same traces with workers: 2 as on the main thread (all-in-one)', async () => {
    const inProcess = await run(CAPTURE, ALL_IN_ONE, 0);
    const sharded = await run(CAPTURE, ALL_IN_ONE, 2);
    expect(inProcess.spans).to.have.length(120);
    expect(sharded.spans).to.deep.equal(inProcess.spans);
  });
});
