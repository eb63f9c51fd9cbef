import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConnMeta } from '../../core/records/network-data';
import { HOST, serverRequest } from '../../test/spans/messages';
import { containerIdFromCgroup, parseResourceAttributes, readProc, ResourceCache, startedAs, type ResourceOptions } from './resource';

const CONTAINER = 'a3f1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80';

function fakeProc(root: string, pid: number, files: { env?: Record<string, string>; cmdline?: string[]; cgroup?: string; exe?: string; comm?: string; start?: string }): void {
  const dir = path.join(root, String(pid));
  fs.mkdirSync(dir, { recursive: true });
  const comm = files.comm ?? path.basename(files.exe ?? 'my proc').slice(0, 15);
  fs.writeFileSync(path.join(dir, 'stat'), `${pid} (${comm}) S ${'1 '.repeat(18)}${files.start ?? '12345'} 0 0\n`);
  fs.writeFileSync(path.join(dir, 'environ'), Object.entries(files.env ?? {}).map(([k, v]) => `${k}=${v}\0`).join(''));
  fs.writeFileSync(path.join(dir, 'cmdline'), (files.cmdline ?? []).map((a) => `${a}\0`).join(''));
  fs.writeFileSync(path.join(dir, 'cgroup'), files.cgroup ?? '0::/\n');
  try {
    fs.unlinkSync(path.join(dir, 'exe'));
  } catch {
    /* first time */
  }
  if (files.exe) fs.symlinkSync(files.exe, path.join(dir, 'exe'));
}

describe('span_builder resources', () => {
  let root: string;
  let opts: ResourceOptions;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-proc-'));
    opts = { serviceNameEnv: ['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DK_BPFTRACE_SERVICE'], commandLine: true, maxProcesses: 3, refreshMs: 1000, procRoot: root, localHostId: HOST.hostId };
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('builds one resource per process from its environment, exe, command line and cgroup', () => {
    fakeProc(root, 100, {
      env: { DD_SERVICE: 'checkout', DD_ENV: 'prod', DD_VERSION: '1.2.3', SECRET_TOKEN: 'nope' },
      cmdline: ['/usr/bin/python3', 'app.py', '--db-password', 'pw1', 'API_KEY=k2'],
      cgroup: `0::/system.slice/docker-${CONTAINER}.scope\n`,
      exe: '/usr/bin/python3.11',
    });
    const c = new ResourceCache(opts);
    const r = c.forMessage(serverRequest(5, 1, 2, { pid: 100 }));
    expect(r.attributes).to.deep.equal({
      'service.name': 'checkout',
      'service.version': '1.2.3',
      'deployment.environment.name': 'prod',
      'host.name': HOST.hostName,
      'host.id': HOST.hostId,
      'os.type': 'linux',
      'process.pid': 100,
      'process.executable.name': 'python3.11',
      'process.executable.path': '/usr/bin/python3.11',
      'process.command_line': '/usr/bin/python3 app.py --db-password REDACTED API_KEY=REDACTED',
      'container.id': CONTAINER,
    });
    // same object for every span of the process, read once
    expect(c.forMessage(serverRequest(6, 3, 4, { pid: 100 }))).to.equal(r);
    expect(c.reads).to.equal(1);
  });

  it('follows the configured order, then OTEL_RESOURCE_ATTRIBUTES, then unknown_service', () => {
    fakeProc(root, 1, { env: { DK_BPFTRACE_SERVICE: 'dk', OTEL_SERVICE_NAME: 'otel' }, exe: '/bin/x' });
    fakeProc(root, 2, { env: { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from%20attrs,team=core' }, exe: '/bin/x' });
    fakeProc(root, 3, { exe: '/opt/app/server' });
    const c = new ResourceCache(opts);
    expect(c.forMessage(serverRequest(1, 1, 2, { pid: 1 })).attributes['service.name']).to.equal('otel');
    const r2 = c.forMessage(serverRequest(1, 1, 2, { pid: 2 })).attributes;
    expect(r2['service.name']).to.equal('from attrs');
    expect(r2.team).to.equal('core');
    expect(c.forMessage(serverRequest(1, 1, 2, { pid: 3 })).attributes['service.name']).to.equal('unknown_service:server');
  });

  it('falls back to the name the process was started as, not a symlink target', () => {
    fakeProc(root, 1, { exe: '/usr/bin/redis-check-rdb', comm: 'redis-server', cmdline: ['redis-server 127.0.0.1:6379'] });
    fakeProc(root, 2, { exe: '/usr/local/bin/kube-controller-manager' }); // comm cut to 15 bytes
    fakeProc(root, 3, { exe: '/usr/local/bin/hyperkube', comm: 'kube-controller', cmdline: ['/usr/local/bin/kube-controller-manager', '--v=2'] });
    const c = new ResourceCache(opts);
    const name = (pid: number) => c.forMessage(serverRequest(1, 1, 2, { pid })).attributes;
    expect(name(1)).to.include({ 'service.name': 'unknown_service:redis-server', 'process.executable.name': 'redis-check-rdb' });
    expect(name(2)['service.name']).to.equal('unknown_service:kube-controller-manager');
    expect(name(3)).to.include({ 'service.name': 'unknown_service:kube-controller-manager', 'process.executable.name': 'hyperkube' });
  });

  it('names a process as the kernel and its arguments tell', () => {
    expect(startedAs('redis-server', 'redis-check-rdb', 'redis-server *:6379')).to.equal('redis-server');
    expect(startedAs('sh', 'dash', '/bin/sh')).to.equal('sh');
    expect(startedAs('python3', 'python3.11', 'python3')).to.equal('python3');
    expect(startedAs('kube-controller', 'hyperkube', 'kube-controller-manager')).to.equal('kube-controller-manager');
    expect(startedAs('kube-controller', 'kube-controller-manager', undefined)).to.equal('kube-controller-manager');
    expect(startedAs(undefined, 'server', undefined)).to.equal('server');
  });

  it('keeps what was known when the process exits, and notices pid reuse and exec', () => {
    let now = 0;
    fakeProc(root, 7, { env: { OTEL_SERVICE_NAME: 'first' }, exe: '/bin/a', start: '100' });
    const c = new ResourceCache(opts, undefined, () => now);
    const m = serverRequest(1, 1, 2, { pid: 7 });
    const first = c.forMessage(m);
    fs.rmSync(path.join(root, '7'), { recursive: true });
    now = 5000;
    expect(c.forMessage(m)).to.equal(first);
    fakeProc(root, 7, { env: { OTEL_SERVICE_NAME: 'second' }, exe: '/bin/b', start: '200' });
    now = 10_000;
    expect(c.forMessage(m).attributes['service.name']).to.equal('second');
    // an exec keeps pid and start time: the new comm tells
    fakeProc(root, 7, { exe: '/usr/bin/redis-check-rdb', comm: 'redis-server', start: '200' });
    now = 15_000;
    expect(c.forMessage(m).attributes['service.name']).to.equal('unknown_service:redis-server');
  });

  it('uses the comm for processes that exited before they were read, and for other hosts', () => {
    const c = new ResourceCache(opts);
    expect(c.forMessage(serverRequest(1, 1, 2, { pid: 999, comm: 'gone' })).attributes).to.include({ 'service.name': 'unknown_service:gone', 'process.executable.name': 'gone', 'process.pid': 999 });
    fakeProc(root, 8, { env: { OTEL_SERVICE_NAME: 'local-only' } });
    const remote = c.forMessage(serverRequest(1, 1, 2, { pid: 8, comm: 'nginx', host: { ...HOST, hostId: 'other', hostName: 'b' } }));
    expect(remote.attributes).to.include({ 'service.name': 'unknown_service:nginx', 'host.id': 'other', 'host.name': 'b' });
  });

  it('stays within max_processes', () => {
    const c = new ResourceCache(opts);
    for (let pid = 1; pid <= 10; pid++) c.forMessage(serverRequest(1, 1, 2, { pid }));
    c.forMessage(serverRequest(1, 1, 2, { pid: 0, connMeta: ConnMeta.NO_TASK }));
    expect(c.size).to.equal(3);
  });

  it('parses cgroup container ids and resource attributes', () => {
    expect(containerIdFromCgroup(`12:memory:/docker/${CONTAINER}\n`)).to.equal(CONTAINER);
    expect(containerIdFromCgroup(`0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-${CONTAINER}.scope\n`)).to.equal(CONTAINER);
    expect(containerIdFromCgroup('0::/user.slice/user-0.slice/session-1.scope\n')).to.equal(undefined);
    expect(containerIdFromCgroup('4:memory:/process_api/94b552f5e60a43001bd69d758289cf3d\n')).to.equal(undefined);
    expect(parseResourceAttributes('a=1, b = x%2Cy ,bad,c=%E0%A4%A')).to.deep.equal({ a: '1', b: 'x,y' });
  });

  describe('against the real /proc', () => {
    let child: ChildProcess | undefined;
    afterEach(() => child?.kill());

    it('reads a live process: service name from its environment, exe, cmdline', async function () {
      child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { env: { PATH: process.env.PATH, OTEL_SERVICE_NAME: 'live-test-svc' }, stdio: 'ignore' });
      await new Promise((r) => child!.once('spawn', r));
      const info = readProc('/proc', child.pid!, new Set(['OTEL_SERVICE_NAME']));
      if (!info) {
        console.log('      /proc/<pid> not readable here; skipping');
        this.skip();
      }
      const c = new ResourceCache({ ...opts, procRoot: '/proc' });
      const r = c.forMessage(serverRequest(1, 1, 2, { pid: child.pid! }));
      expect(r.attributes['service.name']).to.equal('live-test-svc');
      expect(r.attributes['process.executable.name']).to.equal(path.basename(fs.realpathSync(process.execPath)));
      expect(r.attributes['process.command_line']).to.include('setTimeout');
    });
  });
});
