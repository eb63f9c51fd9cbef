/**
 * The ebpf receiver against the real kernel: real sockets on loopback and in
 * a network namespace made here, every traced syscall kind, IPv4 and IPv6.
 * Skips, saying why, where eBPF cannot load.
 */
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnMeta, FuncId, FUNC_NAMES, isEgress, isIngress } from '../../core/records/network-data';
import type { NetworkRecord } from '../../core/signals';
import { EbpfUnavailableError, loadAddon, type Tracepoints } from '../../receivers/ebpf/native';
import { ebpfUnavailable, sleep, startCapture as startAnyCapture, startWorkload } from './harness';

const SEND_FUNC: Record<string, number> = { write: FuncId.WRITE, writev: FuncId.WRITEV, sendto: FuncId.SENDTO, sendmsg: FuncId.SENDMSG };
const RECV_FUNC: Record<string, number> = { read: FuncId.READ, readv: FuncId.READV, recvfrom: FuncId.RECVFROM, recvmsg: FuncId.RECVMSG };

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

// Each describe below runs once per set of tracepoints the probe can attach to.
let tracepoints: Tracepoints = 'auto';
const startCapture = (raw: Record<string, unknown>) => startAnyCapture({ tracepoints, ...raw });

/** Runs the workload with a service variable the default selection picks up, capturing meanwhile. */
async function captureWorkload(args: string[], extra: Record<string, unknown> = {}, prefix: string[] = []) {
  const service = `espan-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  const w = startWorkload(args, { OTEL_SERVICE_NAME: service }, prefix);
  await sleep(300); // let the child exec, so /proc shows its own environment
  const cap = await startCapture({ poll_interval: '5ms', ...extra });
  let facts: any;
  try {
    facts = await w.go();
    await sleep(100);
  } finally {
    var records = await cap.stop();
  }
  return { facts, records: records.filter((r) => r.pid === facts.pid), all: records, cap };
}

for (const mode of ['socket', 'syscall'] as const) describe(`ebpf receiver on the real kernel, ${mode} tracepoints`, function () {
  this.timeout(60_000);

  before(function () {
    const why = ebpfUnavailable() ?? (mode === 'socket' && !loadAddon().socketTracepoints() ? 'this kernel has no socket tracepoints' : undefined);
    if (why) {
      console.log(`    skipping eBPF capture tests with ${mode} tracepoints: ${why}`);
      this.skip();
    }
    tracepoints = mode;
  });

  for (const family of ['v4', 'v6'] as const) {
    describe(`every syscall kind over ${family === 'v4' ? 'IPv4' : 'IPv6'}`, () => {
      let facts: any;
      let records: NetworkRecord[];
      const loopback = family === 'v4' ? '127.0.0.1' : '::1';

      before(async () => {
        ({ facts, records } = await captureWorkload(['kinds', family]));
      });

      it('records the data calls with func_id, pid, tid, comm, addresses, ports and payload', () => {
        const byConn = (clientPort: number, side: 'client' | 'server') =>
          records.filter((r) => (side === 'client' ? r.sport === clientPort : r.dport === clientPort && r.sport === facts.port));
        const client = byConn(facts.conns[0].client_port, 'client');
        const server = byConn(facts.conns[0].client_port, 'server');
        for (const step of facts.steps) {
          const want = Buffer.from(step.hex, 'hex');
          const sent = client.find((r) => r.funcId === SEND_FUNC[step.send] && r.bufLen === want.length);
          expect(sent, `client ${step.send} of ${want.length} bytes`).to.not.equal(undefined);
          const rcvd = server.filter((r) => r.funcId === RECV_FUNC[step.recv] && r.tcpSeq - sent!.tcpSeq >= 0 && r.tcpSeq - sent!.tcpSeq < want.length);
          expect(rcvd.length, `server ${step.recv}`).to.be.greaterThan(0);
          expect(rcvd[0].tcpSeq, 'the read of the first byte carries the write\'s sequence number').to.equal(sent!.tcpSeq);
          for (const r of [sent!, ...rcvd]) {
            expect(r.pid).to.equal(facts.pid);
            expect(r.host.hostId).to.be.a('string').and.not.equal('');
            expect(r.connMeta & ConnMeta.IPV6 ? 'v6' : 'v4').to.equal(family);
            expect(r.saddr).to.equal(loopback);
            expect(r.daddr).to.equal(loopback);
            expect(r.tsTail).to.be.at.least(r.ts);
          }
          expect(sent!.tid).to.equal(facts.client_tid);
          expect(sent!.comm).to.equal('espan-cli');
          expect(sent!.dport).to.equal(facts.port);
          expect(rcvd[0].tid).to.equal(facts.server_tid);
          expect(rcvd[0].comm).to.equal('espan-srv');
          expect(rcvd[0].sport).to.equal(facts.port);
          expect(isEgress(sent!.funcId)).to.equal(true);
          expect(isIngress(rcvd[0].funcId)).to.equal(true);
          // payload: what was sent, up to the capture size; truncation says so through act_size < buf_len
          expect(sent!.actSize).to.equal(Math.min(want.length, 4096));
          expect(hex(sent!.payload)).to.equal(want.subarray(0, sent!.actSize).toString('hex'));
          const got = Buffer.concat(rcvd.map((r) => r.payload.subarray(0, r.actSize)));
          expect(hex(got.subarray(0, Math.min(got.length, rcvd[0].actSize)))).to.equal(want.subarray(0, rcvd[0].actSize).toString('hex'));
          for (const r of rcvd) expect(r.actSize).to.equal(Math.min(r.bufLen, 4096));
        }
        const big = client.find((r) => r.bufLen === 10000)!;
        expect(big.actSize, 'a 10000-byte write is truncated to the capture size').to.equal(4096);
      });

      it('records connect, accept, accept4 and close with no payload, and the side of each connection', () => {
        // the kernel has no tracepoint in accept: socket tracepoints report accept4 as accept
        const ACCEPT4 = mode === 'socket' ? FuncId.ACCEPT : FuncId.ACCEPT4;
        const first = facts.conns[0].client_port;
        const second = facts.conns[1].client_port;
        const one = (port: number, side: 'client' | 'server', func: number) =>
          records.filter((r) => r.funcId === func && (side === 'client' ? r.sport === port : r.dport === port));
        expect(one(first, 'client', FuncId.CONNECT)).to.have.length(1);
        expect(one(second, 'client', FuncId.CONNECT)).to.have.length(1);
        expect(one(first, 'server', FuncId.ACCEPT)).to.have.length(1);
        expect(one(second, 'server', ACCEPT4)).to.have.length(1);
        for (const port of [first, second]) {
          expect(one(port, 'client', FuncId.CLOSE), `client close of ${port}`).to.have.length(1);
          expect(one(port, 'server', FuncId.CLOSE), `server close of ${port}`).to.have.length(1);
        }
        for (const r of records.filter((x) => x.funcId >= FuncId.CONNECT)) {
          expect(r.bufLen, FUNC_NAMES[r.funcId]).to.equal(0);
          expect(r.actSize).to.equal(0);
          expect(r.payload.length).to.equal(0);
        }
        const clientData = records.find((r) => r.sport === first && r.funcId === FuncId.WRITE)!;
        const serverData = records.find((r) => r.dport === first && r.funcId === FuncId.READ)!;
        expect(clientData.connMeta & ConnMeta.CLIENT).to.not.equal(0);
        expect(serverData.connMeta & ConnMeta.SERVER).to.not.equal(0);
      });

      it('numbers the calls of each connection in order, from its connect or accept to its close', () => {
        const conns = new Map<string, NetworkRecord[]>();
        for (const r of records) {
          const list = conns.get(r.connId) ?? [];
          list.push(r);
          conns.set(r.connId, list);
        }
        expect(conns.size).to.equal(4); // two connections, both ends
        for (const list of conns.values()) {
          const sorted = [...list].sort((a, b) => a.ts - b.ts);
          expect(sorted.map((r) => r.index)).to.deep.equal(sorted.map((_, i) => i));
          expect([FuncId.CONNECT, FuncId.ACCEPT, FuncId.ACCEPT4]).to.include(sorted[0].funcId);
          expect(sorted[sorted.length - 1].funcId).to.equal(FuncId.CLOSE);
        }
      });
    });
  }

  it('gives the send and the receive of each message on a keep-alive connection the same tcp_seq', async () => {
    const { facts, records } = await captureWorkload(['keepalive', 'v4', '200']);
    const sends = records.filter((r) => r.funcId === FuncId.WRITE && r.sport === facts.client_port).sort((a, b) => a.index - b.index);
    const reads = records.filter((r) => r.funcId === FuncId.READ && r.dport === facts.client_port && r.bufLen > 0);
    expect(sends.map((r) => r.bufLen)).to.deep.equal(facts.sizes);
    const readSeqs = new Set(reads.map((r) => r.tcpSeq));
    for (const [i, s] of sends.entries()) {
      expect(readSeqs.has(s.tcpSeq), `message ${i} (${s.bufLen} bytes at seq ${s.tcpSeq})`).to.equal(true);
      // every byte of the message is read by calls whose ranges tile it
      let covered = 0;
      for (const r of reads) {
        const d = (r.tcpSeq - s.tcpSeq) >>> 0;
        if (d < s.bufLen) covered += r.bufLen;
      }
      expect(covered).to.equal(s.bufLen);
    }
  });

  it('sends the close record when the connection is closed, not when its sending side is shut down', async () => {
    const { facts, records } = await captureWorkload(['halfclose', 'v4']);
    const side = (own: (r: NetworkRecord) => boolean) => records.filter(own).sort((a, b) => a.index - b.index);
    const client = side((r) => r.sport === facts.client_port);
    const server = side((r) => r.dport === facts.client_port && r.sport === facts.port);
    for (const list of [client, server]) {
      expect(list.filter((r) => r.funcId === FuncId.CLOSE), 'one close record').to.have.length(1);
      expect(list[list.length - 1].funcId, 'the close record comes last').to.equal(FuncId.CLOSE);
    }
    const answer = client.find((r) => r.funcId === FuncId.READ && r.bufLen > 0)!;
    expect(Buffer.from(answer.payload).toString()).to.equal(facts.answer);
    // the read that saw the server's end belongs to the same connection, though TCP had finished with it by then
    const eof = client[client.length - 2];
    expect([FUNC_NAMES[eof.funcId], eof.bufLen]).to.deep.equal(['read', 0]);
    expect(client[0].funcId).to.equal(FuncId.CONNECT);
  });

  it('numbers a read that also took the peer\'s end as the write it reads (the FIN is not counted)', async () => {
    const { facts, records } = await captureWorkload(['finread', 'v4']);
    const write = records.find((r) => r.sport === facts.port && r.dport === facts.client_port && r.funcId === FuncId.WRITE)!;
    const read = records.find((r) => r.sport === facts.client_port && r.funcId === FuncId.READ && r.bufLen > 0)!;
    expect(Buffer.from(read.payload).toString()).to.equal(facts.answer);
    expect(read.tcpSeq, 'the read starts where the write did').to.equal(write.tcpSeq);
  });

  it('keeps each connection whole while threads close sockets whose memory another thread\'s new connection soon takes', async () => {
    // A closed socket is freed inside close(); its address, the probe's key, may be a new socket's before close returns.
    const { facts, records } = await captureWorkload(['churn', 'v4', '30000']);
    const conns = new Map<string, NetworkRecord[]>();
    for (const r of records) conns.set(r.connId, [...(conns.get(r.connId) ?? []), r]);
    const broken: string[] = [];
    let unclosed = 0;
    for (const list of conns.values()) {
      list.sort((a, b) => a.index - b.index);
      const funcs = list.map((r) => FUNC_NAMES[r.funcId]).join(' ');
      const opened = ([FuncId.CONNECT, FuncId.ACCEPT, FuncId.ACCEPT4] as number[]).includes(list[0].funcId);
      const closes = list.filter((r) => r.funcId === FuncId.CLOSE).length;
      const sided = list.every((r) => r.connMeta & (ConnMeta.CLIENT | ConnMeta.SERVER));
      if (!opened || !sided || closes > 1 || (closes === 1 && list[list.length - 1].funcId !== FuncId.CLOSE)) broken.push(`${list[0].sport}->${list[0].dport}: ${funcs}`);
      if (closes === 0) unclosed++;
    }
    expect(broken, 'connections cut in two or ended by another one\'s close').to.deep.equal([]);
    console.log(`      ${conns.size} connection ends, ${unclosed} without their close record`);
    // syscall tracepoints: a close() whose socket another thread's new connection took and closed again before it returned
    // can still miss its record (0-1 per 60000 ends here; 9-11 before the close exit used the connection as it was at enter)
    expect(unclosed, 'connection ends without their close record').to.be.at.most(mode === 'socket' ? 0 : 5);
    expect(records.filter((r) => r.funcId === FuncId.CONNECT).map((r) => r.sport).sort()).to.deep.equal([...facts.client_ports].sort());
  });

  it('does not end a connection when one of two fds on its socket is closed', async () => {
    const { facts, records } = await captureWorkload(['dupclose', 'v4']);
    const server = records.filter((r) => r.dport === facts.client_port && r.sport === facts.port);
    expect(new Set(server.map((r) => r.connId)).size, 'one connection').to.equal(1);
    server.sort((a, b) => a.index - b.index);
    expect(server.map((r) => FUNC_NAMES[r.funcId])).to.deep.equal([mode === 'socket' ? 'accept' : 'accept4', 'read', 'write', 'read', 'close']);
    for (const r of server) expect(r.connMeta & ConnMeta.SERVER).to.not.equal(0);
  });

  it('records a connection made before the capture started, without its side', async () => {
    const { facts, records } = await captureWorkload(['preopened', 'v4']);
    const client = records.filter((r) => r.sport === facts.client_port).sort((a, b) => a.index - b.index);
    const server = records.filter((r) => r.dport === facts.client_port && r.sport === facts.port).sort((a, b) => a.index - b.index);
    expect(client.map((r) => FUNC_NAMES[r.funcId])).to.deep.equal(['write', 'read', 'close']);
    expect(server.map((r) => FUNC_NAMES[r.funcId])).to.deep.equal(['read', 'write', 'read', 'close']);
    expect(Buffer.from(client[0].payload).toString()).to.equal('ping');
    for (const r of [...client, ...server]) expect(r.connMeta & (ConnMeta.CLIENT | ConnMeta.SERVER), 'no side: its connect and accept were not seen').to.equal(0);
  });

  it('counts kernel drops instead of growing memory when JavaScript falls behind', async () => {
    const service = `espan-test-${process.pid}-drops`;
    const w = startWorkload(['keepalive', 'v4', '3000'], { OTEL_SERVICE_NAME: service });
    await sleep(300);
    // a small ring and one batch in flight: a blocked event loop must fill them
    const cap = await startCapture({ ring_buffer_size: 65536, wakeup_size: 16384, max_queued_batches: 1, poll_interval: '1ms' });
    const facts = w.go();
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      /* the event loop is blocked: no batch is taken */
    }
    await facts;
    const records = await cap.stop();
    const stats = cap.receiver.stats()!;
    expect(stats.ringBufferFull).to.be.greaterThan(0);
    expect(await cap.metrics.total('espan_ebpf_kernel_dropped_records_total', { reason: 'ring_buffer_full' })).to.equal(stats.ringBufferFull);
    expect(records.length).to.be.greaterThan(0);
    // a lost record spends its connection's index: the loss shows in the workload's connections
    const lastIndex = new Map<string, number>();
    let gaps = 0;
    for (const r of records.filter((r) => r.pid === w.child.pid).sort((a, b) => (a.connId < b.connId ? -1 : a.connId > b.connId ? 1 : a.index - b.index))) {
      const last = lastIndex.get(r.connId);
      if (last !== undefined) gaps += r.index - last - 1;
      lastIndex.set(r.connId, r.index);
    }
    expect(gaps, 'records missing between indexes').to.be.greaterThan(0);
  });

  it('truncates payloads to a smaller configured capture_size and says so', async () => {
    const { facts, records } = await captureWorkload(['keepalive', 'v4', '10'], { capture_size: 100 });
    const sends = records.filter((r) => r.funcId === FuncId.WRITE && r.sport === facts.client_port);
    expect(sends.map((r) => r.bufLen)).to.deep.equal(facts.sizes);
    for (const r of records) {
      expect(r.actSize).to.equal(Math.min(Math.max(r.bufLen, 0), 100));
      expect(r.payload.length).to.equal(r.actSize);
    }
    expect(sends.filter((r) => r.actSize < r.bufLen).length).to.be.greaterThan(0);
  });

  it('captures in a network namespace and filters by netns and port in the kernel', async function () {
    const ns = `espan-t${process.pid}`;
    try {
      execFileSync('ip', ['netns', 'add', ns]);
    } catch (e) {
      console.log(`    skipping: cannot create a network namespace (${(e as Error).message.split('\n')[0]})`);
      this.skip();
    }
    try {
      execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
      const inode = fs.statSync(`/run/netns/${ns}`).ino;
      const hostInode = fs.statSync('/proc/self/ns/net').ino;
      // Traffic on the host at the same time must not pass the netns filter.
      const host = await captureWorkloadPair(ns, inode);
      expect(host.inNs.length).to.be.greaterThan(0);
      for (const r of host.inNs) expect(r.netns).to.equal(inode);
      expect(host.onHost, 'host-namespace connections are filtered out').to.have.length(0);
      expect(inode).to.not.equal(hostInode);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });

  it('fails with a clear message, not a stack trace, when the BPF object is missing', async () => {
    let error: unknown;
    try {
      await startCapture({ object_path: '/nonexistent/espan.bpf.o' });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(EbpfUnavailableError);
    expect((error as EbpfUnavailableError).reason).to.equal('build');
    expect((error as Error).message).to.equal('the BPF object /nonexistent/espan.bpf.o is missing: run `npm run setup` (or scripts/build-native.sh) to build it');
  });

  it("never records espan's own sockets, even when tracing every process", async () => {
    const server = http.createServer((_req, res) => res.end('hello from espan itself'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const cap = await startCapture({ trace_all_processes: true, ports: [port], poll_interval: '5ms' });
    try {
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve, reject) =>
          http.get({ host: '127.0.0.1', port, agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject),
        );
      }
      // The same port from another process is seen: the filter is on the pid, not the port.
      // async: the server answering curl lives on this thread
      await promisify(execFile)('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
      await sleep(100);
    } finally {
      var records = await cap.stop();
      server.close();
    }
    expect(records.filter((r) => r.pid === process.pid)).to.have.length(0);
    expect(records.filter((r) => r.comm === 'curl').length).to.be.greaterThan(0);
    expect(await cap.metrics.total('espan_ebpf_kernel_dropped_records_total')).to.equal(0);
  });
});

/** A workload inside the namespace and one on the host, both selected, while only the namespace's netns passes. */
async function captureWorkloadPair(ns: string, inode: number) {
  const service = `espan-test-${process.pid}-ns`;
  const inside = startWorkload(['keepalive', 'v4', '20'], { OTEL_SERVICE_NAME: service }, ['ip', 'netns', 'exec', ns]);
  const outside = startWorkload(['keepalive', 'v4', '20'], { OTEL_SERVICE_NAME: service });
  await sleep(300);
  const cap = await startCapture({ netns: [inode], poll_interval: '5ms' });
  let a: any;
  let b: any;
  try {
    [a, b] = await Promise.all([inside.go(), outside.go()]);
    await sleep(100);
  } finally {
    var records = await cap.stop();
  }
  return { inNs: records.filter((r) => r.pid === a.pid), onHost: records.filter((r) => r.pid === b.pid) };
}
