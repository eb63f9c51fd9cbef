import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTcpListeners, type TcpListener } from '../../core/procfs';
import { ConnMeta } from '../../core/records/network-data';
import type { NetworkRecord } from '../../core/signals';
import { Conversation } from '../../test/helpers/parse';
import { ListeningSockets } from './listening-sockets';
import { inferSide, listensOn } from './side';

const LISTENERS: TcpListener[] = [
  { addr: '0.0.0.0', port: 8080 },
  { addr: '127.0.0.1', port: 6379 },
  { addr: '::', port: 5432 },
];

describe('side of a connection the probe did not see open', () => {
  it('a local port listened on at that address (or every address) is a server, any other a client', () => {
    expect(listensOn(LISTENERS, '10.0.0.2', 8080)).to.equal(true);
    expect(listensOn(LISTENERS, '127.0.0.1', 6379)).to.equal(true);
    expect(listensOn(LISTENERS, '10.0.0.2', 6379)).to.equal(false);
    expect(listensOn(LISTENERS, '::ffff:10.0.0.2', 5432)).to.equal(true);
    expect(inferSide(LISTENERS, '10.0.0.2', 8080, false, true)).to.deep.equal({ role: 'server', evidence: 'listening_port' });
    expect(inferSide(LISTENERS, '10.0.0.2', 41234, true, true)).to.deep.equal({ role: 'client', evidence: 'listening_port' });
  });

  it('the listening sockets win over the bytes; without them, the first message tells', () => {
    // an egress request on an accepted connection: the kernel knows better than a guess from the bytes
    expect(inferSide(LISTENERS, '127.0.0.1', 8080, true, true).role).to.equal('server');
    expect(inferSide(undefined, '127.0.0.1', 8080, true, true)).to.deep.equal({ role: 'client', evidence: 'request_direction' });
    expect(inferSide(undefined, '127.0.0.1', 8080, false, true)).to.deep.equal({ role: 'server', evidence: 'request_direction' });
    expect(inferSide(undefined, '127.0.0.1', 8080, true, false)).to.deep.equal({ role: 'server', evidence: 'response_direction' });
    expect(inferSide(undefined, '127.0.0.1', 8080, false, false)).to.deep.equal({ role: 'client', evidence: 'response_direction' });
  });

  it('reads LISTEN entries of /proc/<pid>/net/tcp and tcp6 as the kernel writes them', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-net-'));
    try {
      fs.mkdirSync(path.join(root, '9', 'net'), { recursive: true });
      const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
      fs.writeFileSync(
        path.join(root, '9', 'net', 'tcp'),
        head +
          '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n' +
          '   1: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n' +
          '   2: 0100007F:A0C2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1\n',
      );
      fs.writeFileSync(
        path.join(root, '9', 'net', 'tcp6'),
        head + '   0: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0\n',
      );
      const expected = [
        { addr: '0.0.0.0', port: 8080 },
        { addr: '127.0.0.1', port: 6379 },
        { addr: '::1', port: 5432 },
      ];
      // written as a little-endian kernel (x86_64, arm64) writes them
      expect(readTcpListeners(9, root)).to.deep.equal(expected);
      expect(readTcpListeners(10, root)).to.equal(undefined);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("finds this process's own listening socket in the real /proc", async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      expect(readTcpListeners(process.pid)).to.deep.include({ addr: '127.0.0.1', port });
    } finally {
      server.close();
    }
  });

  it('reads /proc once per network namespace and refresh interval, only for records of this host with a process', () => {
    let now = 0;
    const reads: number[] = [];
    const sockets = new ListeningSockets('/proc', 'test-host', 1000, 2, () => now, (pid) => (reads.push(pid), LISTENERS));
    const r = (netns: number, over: Partial<NetworkRecord> = {}): NetworkRecord => ({ ...new Conversation().write('x'), netns, ...over });
    expect(sockets.of(r(1))).to.equal(LISTENERS);
    expect(sockets.of(r(1, { pid: 8 }))).to.equal(LISTENERS);
    expect(reads).to.deep.equal([7]);
    now = 1000;
    sockets.of(r(1));
    sockets.of(r(2));
    sockets.of(r(3)); // beyond two namespaces the oldest read goes
    sockets.of(r(2));
    expect(reads).to.deep.equal([7, 7, 7, 7]);
    sockets.of(r(1));
    expect(reads).to.have.length(5);
    expect(sockets.of(r(4, { host: { hostId: 'elsewhere', hostName: 'x', bootTimeUnixNano: 0n } }))).to.equal(undefined);
    expect(sockets.of(r(4, { connMeta: ConnMeta.NO_TASK }))).to.equal(undefined);
    expect(reads).to.have.length(5);
  });
});
