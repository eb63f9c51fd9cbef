/**
 * Agent and linker roles end to end, on two "hosts": two network namespaces
 * joined by a veth pair, a service in each calling the other, one agent per
 * namespace (an `espan run` child process filtered by netns) sending eSpans
 * over OTLP to one linker (otlp → linking → tail_sampling → file), and an
 * application instrumented with the OpenTelemetry SDK whose spans join the
 * same traces. Skips, saying why, where it cannot run.
 *
 *   SDK client span (A, sdk-client)                      ← root, trace id from the SDK
 *   └─ GET /front  SERVER (A, front)                     ← parent from traceparent
 *      └─ GET      CLIENT (A, front) ──network──┐
 *         └─ GET /api SERVER (B, back) ◀────────┘
 *            └─ GET CLIENT (B, back) ──network──┐
 *               └─ GET /leaf SERVER (A, front) ◀┘
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../core/config/load';
import { fromOtlpJson } from '../../core/otlp';
import { ESPAN } from '../../core/semconv';
import { Service } from '../../core/service';
import { SpanKind, type Span } from '../../core/signals';
import { memoryLogger } from '../../core/telemetry/logger';
import { defaultRegistry } from '../../registry';
import { ebpfUnavailable } from '../ebpf/harness';
import { freePort } from '../helpers/servers';
import { httpOk, sleep, start, stop, topologyUnavailable, TwoHosts, waitFor, type Child } from './topology';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'espan');
const REQUESTS = 4;

/** Components both roles need, by kind: absent ones make the test skip with their names. */
const NEEDED: Array<['receiver' | 'processor' | 'exporter', string]> = [
  ['receiver', 'ebpf'],
  ['receiver', 'otlp'],
  ['processor', 'parse'],
  ['processor', 'thread_correlation'],
  ['processor', 'propagation'],
  ['processor', 'span_builder'],
  ['processor', 'linking'],
  ['processor', 'tail_sampling'],
  ['exporter', 'otlp'],
  ['exporter', 'file'],
];

function unavailable(): string | undefined {
  const why = topologyUnavailable();
  if (why) return why;
  const registry = defaultRegistry();
  const absent = NEEDED.filter(([kind, type]) => !registry.get(kind, type)).map(([kind, type]) => `${kind} ${type}`);
  if (absent.length) return `components not in the registry yet: ${absent.join(', ')}`;
  return ebpfUnavailable();
}

function postJson(port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function agentConfig(netns: number, linkerGrpcPort: number, healthPort: number): string {
  return `receivers:
  ebpf:
    trace_all_processes: true
    netns: [${netns}]
    ports: [8000, 8080, 9000]
    poll_interval: 5ms
    batch: {timeout: 50ms}
processors:
  parse: {}
  thread_correlation: {}
  propagation: {}
  span_builder: {}
exporters:
  otlp:
    endpoint: 127.0.0.1:${linkerGrpcPort}
    tls: {insecure: true}
extensions:
  health_check: {endpoint: 127.0.0.1:${healthPort}}
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces:
      receivers: [ebpf]
      processors: [parse, thread_correlation, propagation, span_builder]
      exporters: [otlp]
`;
}

function linkerConfig(grpcPort: number, httpPort: number, file: string): string {
  return `receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:${grpcPort}}
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  # agents hand some spans over only when a connection's last response is complete:
  # the windows must cover that and the agents' batching
  linking: {link_window: 2s, link_windows: 3, max_clock_skew: 100ms}
  tail_sampling:
    decision_wait: 500ms
    policies: [{name: everything, type: always_sample}]
exporters:
  file: {path: ${JSON.stringify(file)}, flush_interval: 100ms}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [linking, tail_sampling]
      exporters: [file]
`;
}

describe('linking across hosts: agents per network namespace, one linker, an SDK service', function () {
  this.timeout(120_000);

  const hosts = new TwoHosts();
  let dir = '';
  let linker: Service | undefined;
  const agents: Child[] = [];
  let spans: Span[] = [];
  let sdkSpans: Span[] = [];
  let inodeA = 0;
  let inodeB = 0;

  before(async function () {
    const why = unavailable();
    if (why) {
      console.log(`    skipping the multi-host linking test: ${why}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-linking-'));
    hosts.create();
    ({ inodeA, inodeB } = hosts);

    // the linker, in this process
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const out = path.join(dir, 'traces.json');
    linker = new Service(parseConfig(linkerConfig(grpcPort, httpPort, out), path.join(dir, 'linker.yaml'), defaultRegistry(), {}), { logger: memoryLogger() });
    await linker.start();

    // one agent per namespace
    for (const [name, inode] of [
      ['a', inodeA],
      ['b', inodeB],
    ] as const) {
      const health = await freePort();
      const file = path.join(dir, `agent-${name}.yaml`);
      fs.writeFileSync(file, agentConfig(inode, grpcPort, health));
      const agent = hosts.track(start(process.execPath, [BIN, 'run', '-c', file]));
      agents.push(agent);
      await waitFor(
        `agent ${name} to be ready`,
        async () => {
          if (agent.proc.exitCode !== null) throw new Error(`agent ${name} exited: ${agent.output.join('')}`);
          return httpOk(health);
        },
        60_000,
      );
    }

    // the services, started after the agents so their process scan sees them
    await hosts.startServices();
    await sleep(2500); // one process scan of the agents (2 s) so the new processes are traced

    // the SDK-instrumented client calls front from namespace A, then exports its own spans over OTLP to the same linker
    const sdkExport = await hosts.runSdkClient(REQUESTS);
    expect(await postJson(httpPort, sdkExport)).to.equal(200);
    sdkSpans = fromOtlpJson(JSON.parse(sdkExport));

    // agents flush on SIGTERM; then the linker flushes its windows and decisions
    await sleep(1000);
    // together: spans of one request from both agents must reach the linker within its windows
    await Promise.all(agents.map((a) => stop(a)));
    await linker.shutdown();
    linker = undefined;
    spans = fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => fromOtlpJson(JSON.parse(l)));
  });

  after(async () => {
    await hosts.close();
    await linker?.shutdown();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const captured = (s: Span) => s.attributes[ESPAN.CAPTURED] === true;
  const inNs = (s: Span, inode: number) => Number(s.attributes[ESPAN.NETNS]) === inode;
  const path_ = (s: Span) => s.attributes['url.path'];
  const byId = () => new Map(spans.map((s) => [s.spanId, s]));

  it('the SDK spans reached the linker and came out with their own trace ids', () => {
    expect(sdkSpans).to.have.length(REQUESTS);
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of sdkSpans) expect(ids.has(s.spanId), `SDK span ${s.spanId}`).to.equal(true);
  });

  it('each request is one trace that crosses both namespaces with the right parents', () => {
    const index = byId();
    let complete = 0;
    const problems: string[] = [];
    for (const sdk of sdkSpans) {
      const trace = spans.filter((s) => s.traceId === sdk.traceId);
      const find = (what: string, test: (s: Span) => boolean): Span | undefined => {
        const hit = trace.find(test);
        if (!hit) problems.push(`trace ${sdk.traceId}: no ${what} (has ${trace.map((s) => `${s.name}@${s.attributes[ESPAN.NETNS]}`).join(', ')})`);
        return hit;
      };
      const front = find('front SERVER span in A', (s) => captured(s) && s.kind === SpanKind.SERVER && inNs(s, inodeA) && path_(s) === '/front');
      const frontCall = front && find('CLIENT call from front in A', (s) => captured(s) && s.kind === SpanKind.CLIENT && inNs(s, inodeA) && s.parentSpanId === front.spanId);
      const api = frontCall && find('/api SERVER span in B', (s) => captured(s) && s.kind === SpanKind.SERVER && inNs(s, inodeB) && path_(s) === '/api');
      const apiCall = api && find('CLIENT call from back in B', (s) => captured(s) && s.kind === SpanKind.CLIENT && inNs(s, inodeB) && s.parentSpanId === api.spanId);
      const leaf = apiCall && find('/leaf SERVER span in A', (s) => captured(s) && s.kind === SpanKind.SERVER && inNs(s, inodeA) && path_(s) === '/leaf');
      if (!front || !frontCall || !api || !apiCall || !leaf) continue;
      expect(front.parentSpanId, 'front is a child of the SDK span (traceparent)').to.equal(sdk.spanId);
      expect(api.parentSpanId, 'network rule across the veth: back /api under front\'s call').to.equal(frontCall.spanId);
      expect(leaf.parentSpanId, 'network rule back to A: /leaf under back\'s call').to.equal(apiCall.spanId);
      for (const s of trace) {
        if (s.parentSpanId) expect(index.has(s.parentSpanId) || s.parentSpanId === sdk.spanId, `parent of ${s.name} is in the output`).to.equal(true);
      }
      complete++;
    }
    // eBPF capture on a shared machine may lose a call now and then; most requests must come out whole
    expect(complete, problems.join('\n')).to.be.at.least(REQUESTS - 1);
  });

  it('spans captured in A and in B carry the netns of their agent only', () => {
    const ebpf = spans.filter(captured);
    expect(ebpf.filter((s) => inNs(s, inodeA)).length).to.be.greaterThan(0);
    expect(ebpf.filter((s) => inNs(s, inodeB)).length).to.be.greaterThan(0);
    for (const s of ebpf) expect([inodeA, inodeB]).to.include(Number(s.attributes[ESPAN.NETNS]));
  });
});
