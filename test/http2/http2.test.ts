/**
 * HTTP/2 and gRPC on a real kernel: Node's `http2` client and server over h2c
 * (prior knowledge, streams interleaved on one connection) and over TLS (h2
 * by ALPN, plaintext from the TLS uprobes), Debian's nginx
 * with `http2` driven by `curl --http2-prior-knowledge --parallel`, and
 * `@grpc/grpc-js` client and server (unary, server streaming, a failing call;
 * the server reads Redis while serving), captured with the ebpf receiver and
 * run through parse → thread_correlation → propagation → span_builder →
 * linking. Each asserts the exact spans: count, names, status, attributes,
 * and parents across processes (client → server by the sequence number of
 * the stream's HEADERS frame, server → Redis by thread correlation), and a
 * gRPC client and server in two network namespaces joined by a veth pair.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpanKind, StatusCode, type L7Message, type NetworkRecord, type Span, type Trace } from '../../core/signals';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import { linkingFactory } from '../../processors/linking/factory';
import { parseFactory } from '../../processors/parse/factory';
import { propagationFactory } from '../../processors/propagation/factory';
import { spanBuilderFactory } from '../../processors/span_builder/factory';
import { threadCorrelationFactory } from '../../processors/thread_correlation/factory';
import { ebpfUnavailable, startCapture } from '../ebpf/harness';
import { freePort, missingPrograms, nginxConf, runProgram, startRedis, stopper, type RunningServer } from '../helpers/servers';
import { topologyUnavailable, TwoHosts } from '../linking/topology';
import { jsonOf, processor, runStages } from '../spans/harness';
import { makeCert, type Cert } from '../tls/servers';

const SERVICES = path.join(__dirname, 'services');
const SECRET = 'SECRET-H2-BEARER';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

interface Child {
  child: ChildProcess;
  pid: number;
  /** stdout so far */
  out(): string;
  stop(): Promise<void>;
}

/** A program that prints `ready` once it can be used. */
async function startReady(argv: string[], what: string, cwd?: string): Promise<Child> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], cwd });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 20_000;
  while (!out.includes('ready')) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${err}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready in 20 s: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    pid: child.pid!,
    out: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Lets a client started by startReady go (a line on stdin) and returns the JSON it prints last. */
async function go(c: Child, what: string): Promise<any> {
  const exited = new Promise<number>((r) => c.child.once('exit', (code) => r(code ?? -1)));
  c.child.stdin!.write('go\n');
  const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-2), 30_000))]);
  if (code !== 0) throw new Error(`${what} failed (${code}): ${c.out()}`);
  return JSON.parse(c.out().trim().split('\n').pop()!);
}

interface Outcome {
  records: NetworkRecord[];
  messages: L7Message[];
  traces: Trace[];
  spans: Span[];
  /** espan_parse_failures_total of parsing the records */
  parseFailures: number;
}

async function captureAround(select: Record<string, unknown>, workload: () => Promise<unknown>): Promise<Outcome> {
  const capture = await startCapture({ poll_interval: '5ms', ...select });
  let records: NetworkRecord[];
  try {
    await workload();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    records = await capture.stop();
  }
  const metrics = new ServiceMetrics();
  const messages = await runStages<L7Message>(records, [processor(parseFactory, {}, metrics)]);
  const traces = await runStages<Trace>(records, [
    processor(parseFactory, {}),
    processor(threadCorrelationFactory, {}),
    processor(propagationFactory, {}),
    processor(spanBuilderFactory, {}),
    processor(linkingFactory, {}),
  ]);
  return { records, messages, traces, spans: traces.flatMap((t) => t.spans), parseFailures: await metrics.total('espan_parse_failures_total') };
}

const key = (s: Span): string => `${s.kind === SpanKind.SERVER ? 'server' : 'client'} ${s.name} ${s.attributes['url.path'] ?? s.attributes['rpc.method'] ?? ''}`;

/** Every server span's parent is the client span that sent the same stream (same request sequence number), in one trace. */
function checkClientServerLinks(spans: Span[], servers: Span[]): void {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (const s of servers) {
    const parent = byId.get(s.parentSpanId ?? '');
    expect(parent, `parent of ${key(s)}`).to.not.equal(undefined);
    expect(parent!.kind).to.equal(SpanKind.CLIENT);
    expect(parent!.name).to.equal(s.name);
    expect(parent!.traceId).to.equal(s.traceId);
    expect(parent!.attributes['espan.req_seq']).to.equal(s.attributes['espan.req_seq']);
    expect(parent!.attributes['espan.conn_key']).to.equal(s.attributes['espan.conn_key']);
  }
}

/** Both ends parsed the same streams: the same request sequence numbers, client side and server side. */
function checkBothEnds({ messages, parseFailures }: Outcome, n: number): void {
  expect(parseFailures, 'parse failures').to.equal(0);
  const h2 = messages.filter((m) => m.protocol === 'http2');
  const clients = h2.filter((m) => m.role === 'client').map((m) => m.reqSeq).sort();
  const servers = h2.filter((m) => m.role === 'server').map((m) => m.reqSeq).sort();
  expect(clients).to.have.length(n);
  expect(servers).to.deep.equal(clients);
}

describe('HTTP/2 and gRPC capture (eBPF)', function () {
  this.timeout(120_000);
  const stops: Array<() => Promise<void>> = [];

  before(function () {
    const missing = missingPrograms('nginx', 'curl', 'redis-server');
    const why = ebpfUnavailable() ?? (missing.length ? `missing programs: ${missing.join(', ')} (scripts/setup.sh installs them)` : undefined);
    if (why) {
      console.log(`      skipping the HTTP/2 capture tests: ${why}`);
      this.skip();
    }
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  /** Node's client and server, h2c or (with a certificate) h2 over TLS. */
  async function nodeHttp2(cert: Cert | undefined): Promise<void> {
    const scheme = cert ? 'https' : 'http';
    const port = await freePort();
    const server = await startReady([process.execPath, path.join(SERVICES, 'h2-server.js'), String(port), ...(cert ? [cert.cert, cert.key] : [])], 'h2-server');
    stops.push(server.stop);
    const client = await startReady([process.execPath, path.join(SERVICES, 'h2-client.js'), String(port), TRACEPARENT, SECRET, ...(cert ? ['tls'] : [])], 'h2-client');
    stops.push(client.stop);
    let statuses: number[] = [];
    const o = await captureAround({ include_pids: [server.pid, client.pid], ports: [port] }, async () => {
      statuses = await go(client, 'h2-client');
    });
    expect(statuses).to.deep.equal([200, 200, 200, 404]);
    console.log(`      ${o.records.length} records, ${o.messages.length} messages`);
    checkBothEnds(o, 4);
    const { spans } = o;
    expect(spans.map(key).sort()).to.deep.equal([
      'client GET /hello', 'client GET /hello', 'client GET /missing', 'client POST /echo',
      'server GET /hello', 'server GET /hello', 'server GET /missing', 'server POST /echo',
    ]);
    const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    for (const s of spans) {
      const status = s.attributes['http.response.status_code'];
      expect(s.attributes).to.include({ 'url.scheme': scheme, 'network.protocol.version': '2', 'server.address': '127.0.0.1', 'server.port': port, 'network.transport': 'tcp' });
      expect(s.resource.attributes['process.pid']).to.equal(s.kind === SpanKind.SERVER ? server.pid : client.pid);
      expect(status).to.equal(s.attributes['url.path'] === '/missing' ? 404 : 200);
      // 404 is the client's error, not the server's
      const failed = status === 404 && s.kind === SpanKind.CLIENT;
      expect(s.status.code, key(s)).to.equal(failed ? StatusCode.ERROR : StatusCode.UNSET);
      expect(s.attributes['error.type']).to.equal(failed ? '404' : undefined);
      if (s.name === 'POST') expect(s.attributes).to.include({ 'http.request.body.size': 3000, 'http.response.body.size': 13 });
      if (s.attributes['url.path'] === '/hello') expect(s.attributes['http.response.body.size']).to.equal(14);
    }
    // the propagated traceparent (an HTTP/2 header, read as HTTP/1's are) gives its request's spans the application's trace,
    // and the server span the sender's span as parent; every other server span has its client span as parent
    const traced = spans.filter((s) => s.attributes['url.query'] === 'n=1');
    expect(traced.map((s) => [s.traceId, s.attributes['espan.propagation']])).to.deep.equal([[TRACE_ID, 'w3c'], [TRACE_ID, 'w3c']]);
    expect(traced[0].attributes['espan.req_seq']).to.equal(traced[1].attributes['espan.req_seq']);
    expect(traced.find((s) => s.kind === SpanKind.SERVER)!.parentSpanId).to.equal('00f067aa0ba902b7');
    checkClientServerLinks(spans, servers.filter((s) => !traced.includes(s)));
    for (const c of clients) expect(c.attributes['url.full']).to.equal(`${scheme}://127.0.0.1:${port}${c.attributes['url.path']}${c.attributes['url.query'] ? `?${c.attributes['url.query']}` : ''}`);
    expect(new Set(spans.map((s) => s.traceId)).size).to.equal(4);
    expect(jsonOf(o.traces)).to.not.include(SECRET);
    expect(jsonOf(o.messages)).to.not.include(SECRET);
  }

  it("Node's http2 client → Node's http2 server over h2c: one span per stream, linked across processes", () => nodeHttp2(undefined));

  it("Node's http2 client → server over TLS (h2 by ALPN, plaintext from the uprobes): the same spans, https", async () => {
    const cert = makeCert();
    stops.push(async () => fs.rmSync(cert.dir, { recursive: true, force: true }));
    await nodeHttp2(cert);
  });

  it('curl --http2-prior-knowledge --parallel → nginx with http2: linked spans per stream', async () => {
    const port = await freePort();
    const nginx = await startNginxH2c(port);
    stops.push(nginx.stop);
    const urls = ['/hello?n=1', '/hello?n=2', '/missing'].map((p) => `http://127.0.0.1:${port}${p}`);
    const o = await captureAround({ include_comms: ['nginx', 'curl'], ports: [port] }, () =>
      runProgram(['curl', '-s', '--http2-prior-knowledge', '--parallel', '--parallel-immediate', '-H', `Authorization: Bearer ${SECRET}`, ...urls.flatMap((u) => ['-o', '/dev/null', u])]),
    );
    checkBothEnds(o, 3);
    const { spans } = o;
    expect(spans.map(key).sort()).to.deep.equal(['client GET /hello', 'client GET /hello', 'client GET /missing', 'server GET /hello', 'server GET /hello', 'server GET /missing']);
    for (const s of spans) {
      expect(String(s.resource.attributes['process.executable.name'])).to.equal(s.kind === SpanKind.SERVER ? 'nginx' : 'curl');
      expect(s.attributes).to.include({ 'network.protocol.version': '2', 'url.scheme': 'http', 'server.port': port });
      expect(s.attributes['http.response.status_code']).to.equal(s.attributes['url.path'] === '/missing' ? 404 : 200);
    }
    checkClientServerLinks(spans, spans.filter((s) => s.kind === SpanKind.SERVER));
    expect(new Set(spans.map((s) => s.traceId)).size).to.equal(3);
    expect(jsonOf(o.traces)).to.not.include(SECRET);
  });

  it('@grpc/grpc-js client → server → Redis: unary, server streaming and a failing call', async () => {
    const redis = await startRedis();
    stops.push(redis.stop);
    spawnSync('redis-cli', ['-p', String(redis.port), 'SET', 'greeting:ada', 'hi']);
    const port = await freePort();
    const server = await startReady([process.execPath, path.join(SERVICES, 'grpc-server.js'), String(port), String(redis.port)], 'grpc-server', path.join(__dirname, '../..'));
    stops.push(server.stop);
    const client = await startReady([process.execPath, path.join(SERVICES, 'grpc-client.js'), String(port)], 'grpc-client', path.join(__dirname, '../..'));
    stops.push(client.stop);
    let answers: any;
    const o = await captureAround({ include_pids: [server.pid, client.pid], ports: [port, redis.port] }, async () => {
      answers = await go(client, 'grpc-client');
    });
    expect(answers).to.deep.equal({ say: ['hi ada', 'hello bob'], count: ['0', '1', '2'], fail: { code: 14 } });
    checkBothEnds(o, 4);
    const { spans } = o;
    expect(spans.map(key).sort()).to.deep.equal([
      'client GET ', 'client GET ',
      'client demo.Echo/Count demo.Echo/Count', 'client demo.Echo/Fail demo.Echo/Fail', 'client demo.Echo/Say demo.Echo/Say', 'client demo.Echo/Say demo.Echo/Say',
      'server demo.Echo/Count demo.Echo/Count', 'server demo.Echo/Fail demo.Echo/Fail', 'server demo.Echo/Say demo.Echo/Say', 'server demo.Echo/Say demo.Echo/Say',
    ]);
    const rpc = spans.filter((s) => s.attributes['rpc.system.name'] === 'grpc');
    for (const s of rpc) {
      const failed = s.name === 'demo.Echo/Fail';
      expect(s.attributes, key(s)).to.include({ 'rpc.method': s.name, 'rpc.response.status_code': failed ? 'UNAVAILABLE' : 'OK', 'server.address': '127.0.0.1', 'server.port': port });
      expect(s.resource.attributes['process.pid']).to.equal(s.kind === SpanKind.SERVER ? server.pid : client.pid);
      // UNAVAILABLE is an error on both sides (OTel gRPC conventions)
      expect(s.status, key(s)).to.deep.equal(failed ? { code: StatusCode.ERROR, message: 'backend down' } : { code: StatusCode.UNSET });
      expect(s.attributes['error.type']).to.equal(failed ? 'UNAVAILABLE' : undefined);
      expect(s.attributes).to.not.have.property('http.request.method');
    }
    checkClientServerLinks(spans, rpc.filter((s) => s.kind === SpanKind.SERVER));
    // each Say served reads Redis: that call is the server span's child, in its trace
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const gets = spans.filter((s) => s.attributes['db.system.name'] === 'redis');
    expect(gets).to.have.length(2);
    for (const g of gets) {
      const parent = byId.get(g.parentSpanId ?? '');
      expect(parent && key(parent)).to.equal('server demo.Echo/Say demo.Echo/Say');
      expect(parent!.traceId).to.equal(g.traceId);
      expect(g.resource.attributes['process.pid']).to.equal(server.pid);
    }
    expect(new Set(spans.map((s) => s.traceId)).size).to.equal(4);
  });

  it('links a gRPC client in one network namespace to its server in another, across a veth pair', async function () {
    const why = topologyUnavailable();
    if (why) {
      console.log(`      skipping: ${why}`);
      this.skip();
    }
    const hosts = new TwoHosts();
    stops.push(() => hosts.close());
    hosts.create();
    const port = await freePort();
    const root = path.join(__dirname, '../..');
    const inB = ['ip', 'netns', 'exec', hosts.nsB];
    const inA = ['ip', 'netns', 'exec', hosts.nsA];
    const server = await startReady([...inB, process.execPath, path.join(SERVICES, 'grpc-server.js'), String(port), '0', hosts.addrB], 'grpc-server', root);
    stops.push(server.stop);
    const client = await startReady([...inA, process.execPath, path.join(SERVICES, 'grpc-client.js'), String(port), hosts.addrB], 'grpc-client', root);
    stops.push(client.stop);
    let answers: any;
    const o = await captureAround({ include_pids: [server.pid, client.pid], ports: [port] }, async () => {
      answers = await go(client, 'grpc-client');
    });
    expect(answers).to.deep.equal({ say: ['hello ada', 'hello bob'], count: ['0', '1', '2'], fail: { code: 14 } });
    checkBothEnds(o, 4);
    const { spans } = o;
    expect(spans).to.have.length(8);
    for (const s of spans) {
      const served = s.kind === SpanKind.SERVER;
      expect(s.attributes, key(s)).to.include({
        'rpc.system.name': 'grpc',
        'server.address': hosts.addrB,
        'server.port': port,
        'network.peer.address': served ? hosts.addrA : hosts.addrB,
        'espan.netns': served ? hosts.inodeB : hosts.inodeA,
      });
    }
    checkClientServerLinks(spans, spans.filter((s) => s.kind === SpanKind.SERVER));
    expect(new Set(spans.map((s) => s.traceId)).size).to.equal(4);
  });
});

/** nginx speaking h2c (prior knowledge) on `port`: /hello → 200, anything else 404. */
async function startNginxH2c(port: number): Promise<RunningServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-nginx-h2c-'));
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    nginxConf(
      dir,
      `server {
    listen 127.0.0.1:${port} http2;
    location = /hello { default_type text/plain; return 200 "hello over h2c\\n"; }
    location / { return 404; }
  }`,
    ),
  );
  const child = spawn('nginx', ['-p', dir, '-c', conf], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  while (!fs.existsSync(`${dir}/nginx.pid`)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start: ${fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, 'utf8') : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200));
  return { port, pid: child.pid!, dir, child, stop: stopper(child, dir) };
}
