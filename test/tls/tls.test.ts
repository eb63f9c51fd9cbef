/**
 * TLS plaintext capture on a real kernel: curl, Python's ssl/urllib and Node's
 * https client against Debian's nginx with TLS, and curl and Python against
 * Node's `https` server (self-signed certificates made here), on loopback and
 * across two network namespaces, captured with
 * the ebpf receiver (uprobes on
 * libssl.so.3 and on `node`), run through parse → thread_correlation →
 * propagation → span_builder → linking. Both ends of a connection must give the
 * same request the same sequence number, so the HTTPS client span is the
 * parent of the server span; no ciphertext record and no plaintext reaches the
 * output.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConnMeta, isEgress, isIngress } from '../../core/records/network-data';
import { SpanKind, StatusCode, type L7Message, type NetworkRecord, type Span, type Trace } from '../../core/signals';
import { linkingFactory } from '../../processors/linking/factory';
import { parseFactory } from '../../processors/parse/factory';
import { propagationFactory } from '../../processors/propagation/factory';
import { spanBuilderFactory } from '../../processors/span_builder/factory';
import { threadCorrelationFactory } from '../../processors/thread_correlation/factory';
import { ebpfUnavailable, startCapture, type Capture } from '../ebpf/harness';
import { freePort, missingPrograms, runProgram } from '../helpers/servers';
import { topologyUnavailable, TwoHosts } from '../linking/topology';
import { jsonOf, processor, runStages, SYSTEM_PYTHON } from '../spans/harness';
import { makeCert, startNginxTls, startNodeHttps, type Cert, type TlsServer } from './servers';

const SECRET = 'SECRET-TLS-BEARER';

/** curl: every URL on one kept-alive connection. */
const curl = (port: number, paths: string[]) =>
  runProgram(['curl', '-sk', '--http1.1', '-H', `Authorization: Bearer ${SECRET}`, ...paths.flatMap((p) => ['-o', '/dev/null', `https://127.0.0.1:${port}${p}`])]);

/** Python's urllib over the ssl module (SSL_read_ex/SSL_write_ex): one connection per request; 404 is an answer, not a failure. */
const python = (port: number, paths: string[]) =>
  runProgram([
    SYSTEM_PYTHON,
    '-c',
    `
import ssl, sys, urllib.request, urllib.error
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
for p in sys.argv[1:]:
    req = urllib.request.Request('https://127.0.0.1:${port}' + p, headers={'Authorization': 'Bearer ${SECRET}'})
    try:
        urllib.request.urlopen(req, context=ctx).read()
    except urllib.error.HTTPError as e:
        e.read()
`,
    ...paths,
  ]);

/** Node's https client (OpenSSL inside node, socket I/O outside the SSL calls): every path on one kept-alive connection. */
function nodeClient(cert: Cert, port: number, paths: string[]): Promise<string> {
  const file = path.join(cert.dir, 'client.js');
  fs.writeFileSync(
    file,
    `
const https = require('node:https');
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
const get = (p) => new Promise((resolve, reject) =>
  https.get({ host: '127.0.0.1', port: ${port}, path: p, agent, rejectUnauthorized: false, headers: { authorization: 'Bearer ${SECRET}' } }, (res) => {
    res.resume();
    res.on('end', resolve);
  }).on('error', reject));
(async () => {
  for (const p of process.argv.slice(2)) await get(p);
  agent.destroy();
})();
`,
  );
  return runProgram([process.execPath, file, ...paths]);
}

interface Outcome {
  records: NetworkRecord[];
  messages: L7Message[];
  traces: Trace[];
  spans: Span[];
  capture: Capture;
}

async function captureAround(server: TlsServer, workload: () => Promise<unknown>, settings: Record<string, unknown> = {}): Promise<Outcome> {
  const capture = await startCapture({ include_comms: ['nginx', 'curl', 'python3', 'node'], ports: [server.port], poll_interval: '5ms', ...settings });
  let records: NetworkRecord[];
  try {
    const probed = capture.receiver.tlsProbed().map((f) => f.path);
    expect(probed.some((p) => p.endsWith('libssl.so.3')), `probed: ${probed}`).to.equal(true);
    expect(probed, `probed: ${probed}`).to.include(fs.realpathSync(process.execPath));
    await workload();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    records = await capture.stop();
  }
  const messages = await runStages<L7Message>(records, [processor(parseFactory, {})]);
  const traces = await runStages<Trace>(records, [
    processor(parseFactory, {}),
    processor(threadCorrelationFactory, {}),
    processor(propagationFactory, {}),
    processor(spanBuilderFactory, {}),
    processor(linkingFactory, {}),
  ]);
  return { records, messages, traces, spans: traces.flatMap((t) => t.spans), capture };
}

/** A TLS record header at the start of a payload: ciphertext that should not have been sent. */
function looksLikeTlsRecord(p: Uint8Array): boolean {
  return p.length >= 3 && p[0] >= 20 && p[0] <= 24 && p[1] === 3 && p[2] <= 4;
}

function checkRecords(o: Outcome, requests: number): void {
  const data = o.records.filter((r) => isEgress(r.funcId) || isIngress(r.funcId));
  expect(data.filter((r) => looksLikeTlsRecord(r.payload)), 'ciphertext records').to.deep.equal([]);
  // every data record is plaintext, flagged TLS, and each request's bytes were seen once by each end
  expect(data.every((r) => (r.connMeta & ConnMeta.TLS) !== 0)).to.equal(true);
  const requestRecords = data.filter((r) => Buffer.from(r.payload).toString('latin1').startsWith('GET '));
  expect(requestRecords).to.have.length(2 * requests);
  expect(requestRecords.filter((r) => isEgress(r.funcId))).to.have.length(requests);
}

/** Both ends' parse output: the client's and the server's message of each request carry the same request sequence number. */
function checkSequenceNumbers(o: Outcome, requests: number): void {
  const clients = o.messages.filter((m) => m.role === 'client');
  const servers = o.messages.filter((m) => m.role === 'server');
  expect(clients).to.have.length(requests);
  expect(servers).to.have.length(requests);
  expect(clients.map((m) => m.reqSeq).sort()).to.deep.equal(servers.map((m) => m.reqSeq).sort());
}

interface Expected {
  path: string;
  status: number;
  client: string;
}

function checkSpans(o: Outcome, server: TlsServer, serverComm: string, expected: Expected[]): void {
  const { spans } = o;
  expect(spans).to.have.length(2 * expected.length);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
  expect(servers.map((s) => `${s.attributes['url.path']} ${s.attributes['http.response.status_code']}`).sort()).to.deep.equal(expected.map((e) => `${e.path.split('?')[0]} ${e.status}`).sort());
  for (const s of servers) {
    expect(s.name).to.equal('GET');
    expect(s.resource.attributes['process.pid']).to.be.oneOf(server.pids);
    expect(String(s.resource.attributes['process.executable.name'])).to.equal(serverComm);
    expect(s.attributes).to.include({ 'http.request.method': 'GET', 'url.scheme': 'https', 'server.port': server.port, 'client.address': '127.0.0.1', 'network.transport': 'tcp', 'network.protocol.version': '1.1' });
    expect(s.status.code).to.equal((s.attributes['http.response.status_code'] as number) >= 500 ? StatusCode.ERROR : StatusCode.UNSET);
    // the network rule: the HTTPS client span is the server span's parent, in one trace
    const parent = byId.get(s.parentSpanId ?? '');
    expect(parent, `parent of ${s.attributes['url.path']}`).to.not.equal(undefined);
    expect(parent!.kind).to.equal(SpanKind.CLIENT);
    expect(parent!.traceId).to.equal(s.traceId);
    expect(parent!.attributes['espan.req_seq']).to.equal(s.attributes['espan.req_seq']);
    expect(parent!.attributes['url.path']).to.equal(s.attributes['url.path']);
  }
  const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
  expect(clients.map((s) => `${s.resource.attributes['process.executable.name']} ${s.attributes['url.full']} ${s.attributes['http.response.status_code']}`).sort()).to.deep.equal(
    expected.map((e) => `${e.client} https://127.0.0.1:${server.port}${e.path} ${e.status}`).sort(),
  );
  for (const c of clients) {
    expect(c.name).to.equal('GET');
    const status = c.attributes['http.response.status_code'] as number;
    expect(c.attributes).to.include({ 'url.scheme': 'https', 'server.port': server.port, 'server.address': '127.0.0.1' });
    expect(c.status.code).to.equal(status >= 400 ? StatusCode.ERROR : StatusCode.UNSET);
    expect(c.parentSpanId).to.equal(undefined);
  }
  expect(new Set(spans.map((s) => s.traceId)).size).to.equal(expected.length);
  // no plaintext leaves: not the bearer token, not the response bodies
  const text = jsonOf(o.traces);
  expect(text).to.not.include(SECRET);
  expect(text).to.not.include('hello ');
}

describe('TLS plaintext capture (eBPF uprobes on OpenSSL)', function () {
  this.timeout(120_000);
  let cert: Cert | undefined;

  before(function () {
    const missing = missingPrograms('nginx', 'curl', 'openssl');
    const why = ebpfUnavailable() ?? (missing.length ? `missing programs: ${missing.join(', ')} (scripts/setup.sh installs them)` : undefined);
    if (why) {
      console.log(`      skipping the TLS capture tests: ${why}`);
      this.skip();
    }
    cert = makeCert();
  });

  after(() => {
    if (cert) fs.rmSync(cert.dir, { recursive: true, force: true });
  });

  it('curl, Python urllib and Node https → nginx over TLS: linked HTTPS spans, one record per end per request, no ciphertext', async () => {
    const nginx = await startNginxTls(cert!);
    try {
      const o = await captureAround(nginx, async () => {
        await curl(nginx.port, ['/hello?n=1', '/hello?n=2', '/missing']);
        await python(nginx.port, ['/hello?n=3', '/missing']);
        await nodeClient(cert!, nginx.port, ['/hello?n=4', '/hello?n=5']);
      });
      const stats = o.capture.receiver.stats()!;
      console.log(`      ${o.records.length} records; ${stats.tlsCiphertext} ciphertext socket calls not sent, ${stats.tlsNoConnection} plaintext calls without a connection`);
      expect(stats.tlsCiphertext).to.be.greaterThan(0);
      expect(stats.tlsNoConnection).to.equal(0);
      checkRecords(o, 7);
      checkSequenceNumbers(o, 7);
      checkSpans(o, nginx, 'nginx', [
        { path: '/hello?n=1', status: 200, client: 'curl' },
        { path: '/hello?n=2', status: 200, client: 'curl' },
        { path: '/missing', status: 404, client: 'curl' },
        { path: '/hello?n=3', status: 200, client: 'python3' },
        { path: '/missing', status: 404, client: 'python3' },
        { path: '/hello?n=4', status: 200, client: 'node' },
        { path: '/hello?n=5', status: 200, client: 'node' },
      ]);
    } finally {
      await nginx.stop();
    }
  });

  it("curl and Python urllib → Node's https server (OpenSSL inside node, memory BIOs): linked HTTPS spans", async () => {
    const node = await startNodeHttps(cert!);
    try {
      const o = await captureAround(node, async () => {
        await curl(node.port, ['/hello', '/hello?n=2']);
        await python(node.port, ['/other']);
      });
      const stats = o.capture.receiver.stats()!;
      expect(stats.tlsNoConnection).to.equal(0);
      checkRecords(o, 3);
      checkSequenceNumbers(o, 3);
      checkSpans(o, node, 'node', [
        { path: '/hello', status: 200, client: 'curl' },
        { path: '/hello?n=2', status: 200, client: 'curl' },
        { path: '/other', status: 404, client: 'python3' },
      ]);
    } finally {
      await node.stop();
    }
  });

  it('probes a TLS library that a server started after the capture maps (exec watch)', async () => {
    // a copy of libssl.so.3 is another file (inode) than the one probed at start
    const libDir = path.join(cert!.dir, 'lib');
    fs.mkdirSync(libDir);
    fs.copyFileSync(fs.realpathSync('/usr/lib/x86_64-linux-gnu/libssl.so.3'), path.join(libDir, 'libssl.so.3'));
    const capture = await startCapture({ include_comms: ['nginx', 'curl'], poll_interval: '5ms' });
    let records: NetworkRecord[] = [];
    let nginx: TlsServer | undefined;
    try {
      nginx = await startNginxTls(cert!, { env: { LD_LIBRARY_PATH: libDir } });
      const copy = `${libDir}/libssl.so.3`;
      const deadline = Date.now() + 5000;
      while (!capture.receiver.tlsProbed().some((f) => f.path === copy) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(capture.receiver.tlsProbed().map((f) => f.path)).to.include(copy);
      await curl(nginx.port, ['/hello']);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      records = await capture.stop();
      await nginx?.stop();
    }
    const mine = records.filter((r) => r.sport === nginx!.port || r.dport === nginx!.port);
    const requests = mine.filter((r) => Buffer.from(r.payload).toString('latin1').startsWith('GET /hello'));
    expect(requests.map((r) => `${r.comm} ${r.connMeta & ConnMeta.TLS}`).sort()).to.deep.equal([`curl ${ConnMeta.TLS}`, `nginx ${ConnMeta.TLS}`]);
    expect(requests[0].tcpSeq).to.equal(requests[1].tcpSeq);
  });

  it("numbers plaintext that SSL_read returns from OpenSSL's buffer as its TLS record continues (a pipelined pair read 7 bytes at a time)", async () => {
    const port = await freePort();
    // a TLS server that reads 7 bytes per SSL_read: most of them are served from the record OpenSSL already decrypted
    const server = spawn(
      SYSTEM_PYTHON,
      [
        '-c',
        `
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ls.bind(('127.0.0.1', ${port})); ls.listen(1)
print('ready', flush=True)
conn = ctx.wrap_socket(ls.accept()[0], server_side=True)
buf = b''
answered = 0
while answered < 2:
    chunk = conn.recv(7)
    if not chunk: break
    buf += chunk
    while b'\\r\\n\\r\\n' in buf:
        _, buf = buf.split(b'\\r\\n\\r\\n', 1)
        conn.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok')
        answered += 1
conn.close()
`,
        cert!.cert,
        cert!.key,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let o: Outcome;
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
        server.once('exit', (code) => reject(new Error(`the TLS server exited (${code})`)));
      });
      o = await captureAround({ port, pids: [server.pid!], child: server, stop: async () => undefined }, () =>
        runProgram([
          SYSTEM_PYTHON,
          '-c',
          `
import socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${port})))
c.sendall(b'GET /first HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /second HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
got = b''
while got.count(b'ok') < 2:
    got += c.recv(4096)
`,
        ]),
      );
    } finally {
      server.kill();
    }
    // the 65 bytes of the pair travelled in one TLS record; the server's SSL_reads took them 7 at a time (the first read the socket,
    // the rest came from OpenSSL's buffer); both requests' messages carry the client's numbers
    expect(o.records.filter((r) => r.pid === server.pid && isIngress(r.funcId)).map((r) => r.bufLen)).to.deep.equal([7, 7, 7, 7, 7, 7, 7, 7, 7, 2]);
    checkSequenceNumbers(o, 2);
    const servers = o.spans.filter((x) => x.kind === SpanKind.SERVER);
    expect(servers.map((x) => x.attributes['url.path']).sort()).to.deep.equal(['/first', '/second']);
    for (const x of servers) expect(o.spans.find((c) => c.spanId === x.parentSpanId)?.attributes['url.path']).to.equal(x.attributes['url.path']);
  });

  it('links curl in one network namespace to nginx in another, across a veth pair', async function () {
    const why = topologyUnavailable();
    if (why) {
      console.log(`      skipping: ${why}`);
      this.skip();
    }
    const hosts = new TwoHosts();
    try {
      hosts.create();
      const nginx = await startNginxTls(cert!, { host: hosts.addrB, prefix: ['ip', 'netns', 'exec', hosts.nsB] });
      try {
        const o = await captureAround(nginx, () =>
          runProgram(['ip', 'netns', 'exec', hosts.nsA, 'curl', '-sk', '--http1.1', '-o', '/dev/null', `https://${hosts.addrB}:${nginx.port}/hello?across=1`]),
        );
        checkRecords(o, 1);
        checkSequenceNumbers(o, 1);
        expect(o.spans).to.have.length(2);
        const server = o.spans.find((x) => x.kind === SpanKind.SERVER)!;
        const client = o.spans.find((x) => x.kind === SpanKind.CLIENT)!;
        expect(server.parentSpanId).to.equal(client.spanId);
        expect(server.attributes).to.include({ 'url.scheme': 'https', 'client.address': hosts.addrA, 'server.port': nginx.port, 'espan.netns': hosts.inodeB });
        expect(client.attributes).to.include({ 'url.full': `https://${hosts.addrB}:${nginx.port}/hello?across=1`, 'espan.netns': hosts.inodeA, 'http.response.status_code': 200 });
      } finally {
        await nginx.stop();
      }
    } finally {
      await hosts.close();
    }
  });

  it('does the same over the raw syscall tracepoints (tracepoints: syscall)', async () => {
    const nginx = await startNginxTls(cert!);
    try {
      const o = await captureAround(nginx, () => curl(nginx.port, ['/hello', '/missing']), { tracepoints: 'syscall' });
      expect(o.capture.receiver.nativeProbe()!.tracepoints()).to.equal('syscall');
      checkRecords(o, 2);
      checkSequenceNumbers(o, 2);
      checkSpans(o, nginx, 'nginx', [
        { path: '/hello', status: 200, client: 'curl' },
        { path: '/missing', status: 404, client: 'curl' },
      ]);
    } finally {
      await nginx.stop();
    }
  });

  it('with tls.enabled false, sends the ciphertext as before and no plaintext', async () => {
    const nginx = await startNginxTls(cert!);
    try {
      const capture = await startCapture({ include_comms: ['nginx', 'curl'], ports: [nginx.port], poll_interval: '5ms', tls: { enabled: false } });
      let records: NetworkRecord[];
      try {
        expect(capture.receiver.tlsProbed()).to.deep.equal([]);
        await curl(nginx.port, ['/hello']);
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        records = await capture.stop();
      }
      const data = records.filter((r) => isEgress(r.funcId) || isIngress(r.funcId));
      expect(data.some((r) => looksLikeTlsRecord(r.payload))).to.equal(true);
      expect(data.some((r) => (r.connMeta & ConnMeta.TLS) !== 0 || Buffer.from(r.payload).toString('latin1').includes('GET /hello'))).to.equal(false);
    } finally {
      await nginx.stop();
    }
  });
});
