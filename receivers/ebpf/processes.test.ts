import { expect } from 'chai';
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
