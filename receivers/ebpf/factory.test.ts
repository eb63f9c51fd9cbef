import { expect } from 'chai';
import { resolveConfig } from '../../core/config/schema';
import type { EbpfConfig } from './config';
import { ebpfFactory } from './factory';

function resolve(raw: unknown) {
  const r = resolveConfig<EbpfConfig>(ebpfFactory.schema, raw);
  return { ...r, problems: [...r.problems, ...(r.config ? ebpfFactory.validate!(r.config) : [])] };
}

describe('ebpf factory', () => {
  it('fills every default', () => {
    const { config, problems } = resolve({});
    expect(problems).to.deep.equal([]);
    expect(config).to.deep.include({
      tracepoints: 'auto',
      capture_size: 4096,
      ring_buffer_size: 8 * 1024 * 1024,
      wakeup_size: 1024 * 1024,
      poll_interval: 10,
      max_queued_batches: 16,
      batch: { max_batch_size: 8192, timeout: 0 },
      trace_all_processes: false,
      service_env_vars: ['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DK_BPFTRACE_SERVICE'],
      process_scan_interval: 2000,
    });
    expect(ebpfFactory.produces(config!)).to.equal('records');
  });

  it('refuses settings the probe cannot honour, naming the key', () => {
    const { problems } = resolve({ capture_size: 8192, ring_buffer_size: 5000, ports: [0, 80], include_comms: ['a-very-long-process-name'] });
    expect(problems.map((p) => p.path).sort()).to.deep.equal(['capture_size', 'include_comms.0', 'ports.0', 'ring_buffer_size', 'wakeup_size']);
    const tracepoints = resolve({ tracepoints: 'kprobes' }).problems;
    expect(tracepoints.map((p) => p.path)).to.deep.equal(['tracepoints']);
    expect(tracepoints[0].message).to.match(/auto.*socket.*syscall/);
  });

  it('refuses unknown keys', () => {
    const { problems } = resolve({ trace_all: true });
    expect(problems[0].path).to.equal('trace_all');
  });
});
