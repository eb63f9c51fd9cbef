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
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
import { freePort, missingPrograms } from '../helpers/servers';

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
  ['processor', 'espan'],
  ['processor', 'linking'],
  ['processor', 'tail_sampling'],
  ['exporter', 'otlp'],
  ['exporter', 'file'],
];

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, eBPF)';
  const missing = missingPrograms('ip', 'python3');
  if (missing.length) return `missing programs: ${missing.join(', ')}`;
  const registry = defaultRegistry();
  const absent = NEEDED.filter(([kind, type]) => !registry.get(kind, type)).map(([kind, type]) => `${kind} ${type}`);
  if (absent.length) return `components not in the registry yet: ${absent.join(', ')}`;
  return ebpfUnavailable();
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function httpOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      })
      .on('error', () => resolve(false));
  });
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

interface Child {
  proc: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  proc.stdout!.on('data', (d) => output.push(String(d)));
  proc.stderr!.on('data', (d) => output.push(String(d)));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, output, exited };
}

async function stop(c: Child | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill(signal);
  const done = await Promise.race([c.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    c.proc.kill('SIGKILL');
    await c.exited;
  }
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
  espan: {}
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
      processors: [parse, thread_correlation, propagation, espan]
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
  linking: {link_window: 1s, link_windows: 3, max_clock_skew: 100ms}
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

  const tag = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  const nsA = `espan-la-${tag}`;
  const nsB = `espan-lb-${tag}`;
  const octet = 1 + (Number(tag) % 250);
  const addrA = `10.213.${octet}.1`;
  const addrB = `10.213.${octet}.2`;
  let dir = '';
  let linker: Service | undefined;
  const children: Child[] = [];
  let spans: Span[] = [];
  let sdkSpans: Span[] = [];
  let inodeA = 0;
  let inodeB = 0;
  let madeNamespaces = false;

  before(async function () {
    const why = unavailable();
    if (why) {
      console.log(`    skipping the multi-host linking test: ${why}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-linking-'));

    // two "hosts": namespaces joined by a veth pair
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    madeNamespaces = true;
    ip('link', 'add', `ela${tag}`, 'type', 'veth', 'peer', 'name', `elb${tag}`);
    ip('link', 'set', `ela${tag}`, 'netns', nsA);
    ip('link', 'set', `elb${tag}`, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', `${addrA}/24`, 'dev', `ela${tag}`);
    ip('-n', nsB, 'addr', 'add', `${addrB}/24`, 'dev', `elb${tag}`);
    for (const [ns, dev] of [
      [nsA, `ela${tag}`],
      [nsB, `elb${tag}`],
    ]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    inodeA = fs.statSync(`/run/netns/${nsA}`).ino;
    inodeB = fs.statSync(`/run/netns/${nsB}`).ino;

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
      const agent = start(process.execPath, [BIN, 'run', '-c', file]);
      children.push(agent);
      await waitFor(`agent ${name} to be ready`, async () => {
        if (agent.proc.exitCode !== null) throw new Error(`agent ${name} exited: ${agent.output.join('')}`);
        return httpOk(health);
      }, 60_000);
    }

    // the services, started after the agents so their process scan sees them
    const services = path.join(__dirname, 'services.py');
    const front = start('ip', ['netns', 'exec', nsA, 'python3', services, 'front', addrA, addrB], { OTEL_SERVICE_NAME: 'front' });
    const back = start('ip', ['netns', 'exec', nsB, 'python3', services, 'back', addrA, addrB], { OTEL_SERVICE_NAME: 'back' });
    children.push(front, back);
    await waitFor('services to listen', () => front.output.join('').includes('ready') && back.output.join('').includes('ready'));
    await sleep(2500); // one process scan of the agents (2 s) so the new processes are traced

    // the SDK-instrumented client calls front from namespace A
    const client = start('ip', ['netns', 'exec', nsA, process.execPath, path.join(__dirname, 'sdk-client.js'), `http://${addrA}:8000/front`, String(REQUESTS)], {
      OTEL_SERVICE_NAME: 'sdk-client',
    });
    const code = await client.exited;
    const sdkExport = client.output.join('');
    expect(code, sdkExport).to.equal(0);
    // the application exports its own spans over OTLP to the same linker
    expect(await postJson(httpPort, sdkExport)).to.equal(200);
    sdkSpans = fromOtlpJson(JSON.parse(sdkExport));

    // agents flush on SIGTERM; then the linker flushes its windows and decisions
    await sleep(1000);
    for (const c of children.slice(0, 2)) await stop(c);
    await linker.shutdown();
    linker = undefined;
    spans = fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => fromOtlpJson(JSON.parse(l)));
  });

  after(async () => {
    for (const c of children) await stop(c, 'SIGTERM', 3000);
    await linker?.shutdown();
    if (madeNamespaces) {
      // deleting a namespace deletes the veth end inside it, and with it the pair
      for (const ns of [nsA, nsB]) spawnSync('ip', ['netns', 'del', ns]);
    }
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
