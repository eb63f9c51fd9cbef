import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processVerdict, ProcessTracker, type ProcessSelection } from './processes';

const base: ProcessSelection = {
  traceAll: false,
  serviceEnvVars: ['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DK_BPFTRACE_SERVICE'],
  includeComms: [],
  excludeComms: [],
  includePids: [],
  excludePids: [],
  selfPid: 1000,
};
const env = (...names: string[]) => new Set(names);

describe('ebpf process selection', () => {
  it('traces processes whose environment names a service', () => {
    expect(processVerdict({ pid: 5, comm: 'java', envNames: env('PATH', 'DD_SERVICE') }, base)).to.equal('include');
    expect(processVerdict({ pid: 5, comm: 'java', envNames: env('PATH') }, base)).to.equal('none');
    expect(processVerdict({ pid: 5, comm: 'java', envNames: undefined }, base)).to.equal('none');
  });

  it('takes name and pid lists, exclusions winning', () => {
    const s = { ...base, includeComms: ['nginx'], includePids: [7], excludeComms: ['sshd'], excludePids: [8] };
    expect(processVerdict({ pid: 6, comm: 'nginx', envNames: env() }, s)).to.equal('include');
    expect(processVerdict({ pid: 7, comm: 'bash', envNames: env() }, s)).to.equal('include');
    expect(processVerdict({ pid: 8, comm: 'nginx', envNames: env('OTEL_SERVICE_NAME') }, s)).to.equal('exclude');
    expect(processVerdict({ pid: 9, comm: 'sshd', envNames: env('OTEL_SERVICE_NAME') }, s)).to.equal('exclude');
  });

  it('never traces espan itself, even when tracing every process', () => {
    const all = { ...base, traceAll: true };
    expect(processVerdict({ pid: 1000, comm: 'node', envNames: env('OTEL_SERVICE_NAME') }, all)).to.equal('exclude');
    expect(processVerdict({ pid: 1000, comm: 'node', envNames: env('OTEL_SERVICE_NAME') }, base)).to.equal('exclude');
    // with trace_all, others need no entry in the probe's map
    expect(processVerdict({ pid: 5, comm: 'x', envNames: env() }, all)).to.equal('none');
  });

  it('puts this process in the probe map as excluded and selected processes as included', () => {
    const calls: string[] = [];
    const tracker = new ProcessTracker(
      { ...base, selfPid: process.pid, includePids: [process.ppid] },
      { setPid: (pid, v) => calls.push(`${v} ${pid}`), deletePid: () => {} },
    );
    const found = tracker.scan();
    expect(calls).to.include(`exclude ${process.pid}`);
    expect(calls).to.include(`include ${process.ppid}`);
    expect(found.included).to.be.at.least(1);
    // a second scan changes nothing that did not change
    calls.length = 0;
    tracker.scan();
    expect(calls.filter((c) => c.startsWith('include'))).to.deep.equal([]);
  });
});

describe('ebpf process tracking over a /proc', () => {
  let root: string;
  const proc = (pid: number, comm: string, start: string, environ: string) => {
    const dir = path.join(root, String(pid));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'stat'), `${pid} (${comm}) S ${'1 '.repeat(18)}${start} 0 0\n`);
    fs.writeFileSync(path.join(dir, 'environ'), environ);
  };
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-tracker-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('decides by the service variables, again after an exec or a reused pid, and forgets exited processes', () => {
    const calls: string[] = [];
    const tracker = new ProcessTracker(base, { setPid: (pid, v) => calls.push(`${v} ${pid}`), deletePid: (pid) => calls.push(`delete ${pid}`) }, root);
    proc(10, 'java', '100', 'PATH=/bin\0DD_SERVICE=shop\0');
    proc(11, 'sh', '100', 'PATH=/bin\0');
    proc(12, 'bash', '100', 'OTEL_SERVICE_NAME=x\0');
    expect(tracker.scan()).to.deep.equal({ included: 2, excluded: 0 });
    expect(calls.filter((c) => !c.endsWith(` ${base.selfPid}`))).to.deep.equal(['include 10', 'delete 11', 'include 12']); // a child may have inherited an include at fork
    calls.length = 0;
    proc(11, 'server', '100', 'OTEL_SERVICE_NAME=y\0'); // exec: same pid and start time, new name and environment
    proc(12, 'bash', '200', 'PATH=/bin\0'); // another process under the same pid and name
    fs.rmSync(path.join(root, '10'), { recursive: true });
    expect(tracker.scan()).to.deep.equal({ included: 1, excluded: 0 });
    expect(calls.filter((c) => !c.endsWith(` ${base.selfPid}`))).to.have.members(['include 11', 'delete 12', 'delete 10']);
  });
});
