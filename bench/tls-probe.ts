/**
 * What TLS capture costs per SSL call: one Python process (Debian's python3,
 * its ssl module over libssl.so.3) echoes small messages to itself over a TLS
 * connection on loopback — a round trip is four SSL calls (client write,
 * server read, server write, client read) — untraced, traced without TLS
 * capture, and traced with it, alternated so the machine's other load hits
 * all alike. The figure is the echo process's CPU time (user and system: the
 * uprobe traps are the process's own kernel time), steadier than wall time on
 * a shared machine.
 *
 *   npm run build && node dist/bench/tls-probe.js [--round-trips 20000] [--rounds 3]
 *
 * Prints the time per round trip of each mode, the difference TLS capture
 * makes per SSL call (the uprobe and uretprobe traps plus the programs, minus
 * the ciphertext records no longer made), and the uprobe programs' own run
 * time per call from the kernel's accounting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ServiceMetrics } from '../core/telemetry/metrics';
import type { EbpfConfig } from '../receivers/ebpf/config';
import { ebpfFactory } from '../receivers/ebpf/factory';
import type { EbpfReceiver } from '../receivers/ebpf/receiver';
import { ebpfUnavailable } from '../test/ebpf/harness';
import { configFrom, testContext } from '../test/helpers/context';
import { makeCert } from '../test/tls/servers';
import { median } from './lib/measure';
import { numberOption } from './lib/options';

const ROUND_TRIPS = numberOption('round-trips', 20000);
const ROUNDS = numberOption('rounds', 3);
const SSL_CALLS_PER_ROUND_TRIP = 4;

const ECHO = `
import socket, ssl, sys, threading, time
cert, key = sys.argv[1], sys.argv[2]
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); sctx.load_cert_chain(cert, key)
cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); cctx.check_hostname = False; cctx.verify_mode = ssl.CERT_NONE
lsock = socket.socket(); lsock.bind(('127.0.0.1', 0)); lsock.listen(1)
def serve():
    conn = sctx.wrap_socket(lsock.accept()[0], server_side=True)
    while True:
        data = conn.recv(4096)
        if not data: return
        conn.sendall(data)
threading.Thread(target=serve, daemon=True).start()
client = cctx.wrap_socket(socket.create_connection(lsock.getsockname()))
msg = b'GET /ping HTTP/1.1\\r\\nHost: bench\\r\\n\\r\\n'
print('ready', flush=True)
for line in sys.stdin:
    n = int(line)
    t0 = time.process_time_ns()
    for _ in range(n):
        client.sendall(msg)
        client.recv(4096)
    print(time.process_time_ns() - t0, flush=True)
`;

interface Echo {
  child: ChildProcess;
  /** CPU time of the echo process (both threads, user and kernel: the uprobe traps included) per round trip of `n`, ns */
  run(n: number): Promise<number>;
}

async function startEcho(cert: string, key: string): Promise<Echo> {
  const child = spawn('/usr/bin/python3', ['-c', ECHO, cert, key], { stdio: ['pipe', 'pipe', 'inherit'] });
  let waiting: ((line: string) => void) | undefined;
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting?.(line);
    }
  });
  const next = (): Promise<string> => new Promise((resolve) => (waiting = resolve));
  if ((await next()) !== 'ready') throw new Error('echo did not start');
  return {
    child,
    async run(n) {
      const answer = next();
      child.stdin!.write(`${n}\n`);
      return Number(await answer) / n;
    },
  };
}

async function traced(pid: number, tls: boolean, echo: Echo): Promise<{ ns: number; programNs: number; sslCalls: number; records: number }> {
  const receiver = ebpfFactory.create(configFrom<EbpfConfig>(ebpfFactory, { include_pids: [pid], tls: { enabled: tls } }), testContext('receiver', 'ebpf', new ServiceMetrics())) as EbpfReceiver;
  let records = 0;
  const done = new Promise<void>((resolve) => receiver.output.subscribe({ next: (b) => (records += b.length), complete: resolve }));
  await receiver.start();
  const probe = receiver.nativeProbe()!;
  probe.enableRunTimeStats();
  const ssl = () => probe.programStats().filter((p) => p.name.startsWith('ssl_'));
  const entries = (xs: ReturnType<typeof ssl>) => xs.filter((p) => p.name.endsWith('_enter')).reduce((s, p) => s + p.runCount, 0);
  const before = ssl();
  const ns = await echo.run(ROUND_TRIPS);
  const after = ssl();
  await receiver.shutdown();
  await done;
  const sum = (xs: typeof before, k: 'runCount' | 'runTimeNs') => xs.reduce((s, p) => s + p[k], 0);
  return { ns, programNs: sum(after, 'runTimeNs') - sum(before, 'runTimeNs'), sslCalls: entries(after) - entries(before), records };
}

async function main(): Promise<void> {
  const why = ebpfUnavailable();
  if (why) {
    console.log(`tls-probe: skipped: ${why}`);
    return;
  }
  const cert = makeCert();
  const echo = await startEcho(cert.cert, cert.key);
  try {
    await echo.run(ROUND_TRIPS); // warm-up
    const plain: number[] = [];
    const socketOnly: number[] = [];
    const withTls: number[] = [];
    let programNs = 0;
    let sslCalls = 0;
    let records = 0;
    for (let r = 0; r < ROUNDS; r++) {
      plain.push(await echo.run(ROUND_TRIPS));
      socketOnly.push((await traced(echo.child.pid!, false, echo)).ns);
      const t = await traced(echo.child.pid!, true, echo);
      withTls.push(t.ns);
      programNs += t.programNs;
      sslCalls += t.sslCalls;
      records += t.records;
    }
    const us = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)} µs (${xs.map((x) => (x / 1000).toFixed(2)).join(', ')})`;
    console.log(`TLS echo round trip (${SSL_CALLS_PER_ROUND_TRIP} SSL calls, 4 socket calls), echo process CPU, ${ROUND_TRIPS} per run, median of ${ROUNDS} runs:`);
    console.log(`  untraced:                      ${us(plain)}`);
    console.log(`  traced, tls.enabled false:     ${us(socketOnly)}`);
    console.log(`  traced, tls.enabled true:      ${us(withTls)}`);
    console.log(`  TLS capture per SSL call: ${((median(withTls) - median(socketOnly)) / SSL_CALLS_PER_ROUND_TRIP).toFixed(0)} ns more than the socket capture alone, ${((median(withTls) - median(plain)) / SSL_CALLS_PER_ROUND_TRIP).toFixed(0)} ns more than untraced`);
    console.log(`  uprobe programs' own run time per SSL call (entry + return): ${(programNs / Math.max(1, sslCalls)).toFixed(0)} ns; ${sslCalls} SSL calls, ${records} records`);
  } finally {
    echo.child.stdin!.end();
    echo.child.kill();
    fs.rmSync(cert.dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
