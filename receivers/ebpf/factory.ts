import type { ReceiverFactory } from '../../core/component';
import type { Tracepoints } from './native';
import { EbpfReceiver } from './receiver';

export interface EbpfConfig {
  tracepoints: Tracepoints;
  capture_size: number;
  ring_buffer_size: number;
  wakeup_size: number;
  poll_interval: number;
  max_queued_batches: number;
  batch: { max_batch_size: number; timeout: number };
  trace_all_processes: boolean;
  service_env_vars: string[];
  include_comms: string[];
  exclude_comms: string[];
  include_pids: number[];
  exclude_pids: number[];
  ports: number[];
  netns: number[];
  process_scan_interval: number;
  object_path: string;
}

/** The probe's built-in payload buffer (bpf/network_data.h L7_BUFFER_SIZE). */
export const MAX_CAPTURE_SIZE = 4096;

export const ebpfFactory: ReceiverFactory<EbpfConfig> = {
  kind: 'receiver',
  type: 'ebpf',
  schema: {
    tracepoints: {
      doc:
        'where the probe hooks in: socket (the sock_send_length, sock_recv_length, inet_sock_set_state and tcp_destroy_sock tracepoints: only socket calls pay), syscall (the raw sys_enter/sys_exit tracepoints, for kernels without those: every syscall on the machine pays a little), or auto: socket where the kernel has them',
      format: ['auto', 'socket', 'syscall'],
      default: 'auto',
    },
    capture_size: {
      doc: 'payload bytes captured per syscall (at most 4096, the size the probe was built with); longer calls are truncated: act_size < buf_len',
      format: 'nat',
      default: 4096,
    },
    ring_buffer_size: { doc: 'bytes of the kernel ring buffer; a power of two, at least 4096', format: 'nat', default: 8 * 1024 * 1024 },
    wakeup_size: {
      doc: 'the probe wakes the reader each time it has written this many more bytes; in between the reader finds them on its poll timer',
      format: 'nat',
      default: 1024 * 1024,
    },
    poll_interval: { doc: 'how often the reader looks into the ring buffer without being woken', format: 'duration', default: '10ms' },
    max_queued_batches: {
      doc: 'batches handed over but not yet taken by JavaScript; when full the reader stops and the kernel counts drops instead of memory growing',
      format: 'nat',
      default: 16,
    },
    batch: {
      max_batch_size: { doc: 'most records in one batch sent down the pipeline', format: 'nat', default: 8192 },
      timeout: {
        doc: 'longest a record waits for its batch to fill; 0 (as in the Collector) sends each drain of the ring buffer at once, split only by max_batch_size',
        format: 'duration',
        default: 0,
      },
    },
    trace_all_processes: { doc: 'trace every process not excluded; else only those selected by service_env_vars, include_comms or include_pids', format: Boolean, default: false },
    service_env_vars: {
      doc: 'a process whose environment holds one of these variables is traced',
      format: 'string-list',
      default: ['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DK_BPFTRACE_SERVICE'],
    },
    include_comms: { doc: 'process names (comm, 15 characters) that are traced', format: 'string-list', default: [] },
    exclude_comms: { doc: 'process names never traced; wins over every include', format: 'string-list', default: [] },
    include_pids: { doc: 'process ids that are traced', format: 'int-list', default: [] },
    exclude_pids: { doc: "process ids never traced (espan's own pid always is)", format: 'int-list', default: [] },
    ports: { doc: 'when not empty, only connections with one of these ports on either side', format: 'int-list', default: [] },
    netns: { doc: 'when not empty, only connections in these network namespaces (inode numbers, as in `ls -L -i /proc/PID/ns/net`)', format: 'int-list', default: [] },
    process_scan_interval: { doc: 'how often /proc is scanned for processes that started or exited', format: 'duration', default: '2s' },
    object_path: { doc: 'the compiled probe; empty: bpf/.output/espan.bpf.o of this installation', format: String, default: '' },
  },
  validate(c) {
    const problems: Array<{ path: string; message: string }> = [];
    if (c.capture_size > MAX_CAPTURE_SIZE) problems.push({ path: 'capture_size', message: `at most ${MAX_CAPTURE_SIZE}, the payload buffer the probe was built with` });
    const rb = c.ring_buffer_size;
    if (rb < 4096 || (rb & (rb - 1)) !== 0) problems.push({ path: 'ring_buffer_size', message: 'must be a power of two of at least 4096' });
    if (c.wakeup_size >= rb || c.wakeup_size < 4096) problems.push({ path: 'wakeup_size', message: 'must be at least 4096 and smaller than ring_buffer_size' });
    if (c.poll_interval < 1) problems.push({ path: 'poll_interval', message: 'must be at least 1ms' });
    if (c.max_queued_batches < 1) problems.push({ path: 'max_queued_batches', message: 'must be at least 1' });
    if (c.batch.max_batch_size < 1) problems.push({ path: 'batch.max_batch_size', message: 'must be at least 1' });
    for (const [i, p] of c.ports.entries()) if (p < 1 || p > 65535) problems.push({ path: `ports.${i}`, message: 'must be a port number (1-65535)' });
    for (const [i, c2] of c.include_comms.entries()) if (c2.length > 15) problems.push({ path: `include_comms.${i}`, message: 'the kernel keeps 15 characters of a process name' });
    for (const [i, c2] of c.exclude_comms.entries()) if (c2.length > 15) problems.push({ path: `exclude_comms.${i}`, message: 'the kernel keeps 15 characters of a process name' });
    return problems;
  },
  produces: () => 'records',
  create: (config, ctx) => new EbpfReceiver(config, ctx),
};
