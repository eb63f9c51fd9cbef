/** Configuration of the `ebpf` receiver: what the probe captures, how its records reach the pipeline, which processes it traces. */
import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';

/** The probe's built-in payload buffer (bpf/network_data.h L7_BUFFER_SIZE). */
export const MAX_CAPTURE_SIZE = 4096;

export const schema = {
  tracepoints: setting.oneOf(
    ['auto', 'socket', 'syscall'],
    'auto',
    'where the probe hooks in: socket (the sock_send_length, sock_recv_length, inet_sock_set_state and tcp_destroy_sock tracepoints: only socket calls pay), syscall (the raw sys_enter/sys_exit tracepoints, for kernels without those: every syscall on the machine pays a little), or auto: socket where the kernel has them',
  ),
  capture_size: setting.nat(4096, 'payload bytes captured per syscall (at most 4096, the size the probe was built with); longer calls are truncated: act_size < buf_len'),
  ring_buffer_size: setting.nat(8 * 1024 * 1024, 'bytes of the kernel ring buffer; a power of two, at least 4096'),
  wakeup_size: setting.nat(1024 * 1024, 'the probe wakes the reader each time it has written this many more bytes; in between the reader finds them on its poll timer'),
  poll_interval: setting.duration('10ms', 'how often the reader looks into the ring buffer without being woken'),
  max_queued_batches: setting.nat(16, 'batches handed over but not yet taken by JavaScript; when full the reader stops and the kernel counts drops instead of memory growing'),
  batch: {
    max_batch_size: setting.nat(8192, 'most records in one batch sent down the pipeline'),
    timeout: setting.duration(0, 'longest a record waits for its batch to fill; 0 (as in the Collector) sends each drain of the ring buffer at once, split only by max_batch_size'),
  },
  trace_all_processes: setting.bool(false, 'trace every process not excluded; else only those selected by service_env_vars, include_comms or include_pids'),
  service_env_vars: setting.stringList(['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DK_BPFTRACE_SERVICE'], 'a process whose environment holds one of these variables is traced'),
  include_comms: setting.stringList([], 'process names (comm, 15 characters) that are traced'),
  exclude_comms: setting.stringList([], 'process names never traced; wins over every include'),
  include_pids: setting.intList([], 'process ids that are traced'),
  exclude_pids: setting.intList([], "process ids never traced (espan's own pid always is)"),
  ports: setting.intList([], 'when not empty, only connections with one of these ports on either side'),
  netns: setting.intList([], 'when not empty, only connections in these network namespaces (inode numbers, as in `ls -L -i /proc/PID/ns/net`)'),
  process_scan_interval: setting.duration('2s', 'how often /proc is scanned for processes that started or exited'),
  object_path: setting.string('', 'the compiled probe; empty: bpf/.output/espan.bpf.o of this installation'),
  go: {
    enabled: setting.bool(true, "Go programs (go1.18+, amd64/arm64): their records carry the goroutine (or the goroutine whose request a `go f()` child works for) as the user-level thread id, read by uprobes on the Go runtime; thread_correlation links by it"),
  },
  tls: {
    enabled: setting.bool(true, "TLS plaintext: uprobes on OpenSSL's SSL_read/SSL_write (and _ex) give HTTPS connections' plaintext as their data records; their ciphertext is not sent"),
    libraries: setting.stringList(['libssl.so.3', 'libssl.so.1.1'], 'TLS library file names (or absolute paths) probed where found in the system library directories or mapped by a process'),
    executables: setting.bool(true, 'also probe executables that export the OpenSSL functions themselves (Node: `node`)'),
  },
};

export type EbpfConfig = ConfigOf<typeof schema>;

export function validate(c: EbpfConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (c.capture_size > MAX_CAPTURE_SIZE) problems.push({ path: 'capture_size', message: `at most ${MAX_CAPTURE_SIZE}, the payload buffer the probe was built with` });
  const rb = c.ring_buffer_size;
  if (rb < 4096 || (rb & (rb - 1)) !== 0) problems.push({ path: 'ring_buffer_size', message: 'must be a power of two of at least 4096' });
  if (c.wakeup_size >= rb || c.wakeup_size < 4096) problems.push({ path: 'wakeup_size', message: 'must be at least 4096 and smaller than ring_buffer_size' });
  if (c.poll_interval < 1) problems.push({ path: 'poll_interval', message: 'must be at least 1ms' });
  if (c.max_queued_batches < 1) problems.push({ path: 'max_queued_batches', message: 'must be at least 1' });
  if (c.batch.max_batch_size < 1) problems.push({ path: 'batch.max_batch_size', message: 'must be at least 1' });
  for (const [i, p] of c.ports.entries()) if (p < 1 || p > 65535) problems.push({ path: `ports.${i}`, message: 'must be a port number (1-65535)' });
  for (const key of ['include_comms', 'exclude_comms'] as const) {
    for (const [i, comm] of c[key].entries()) if (comm.length > 15) problems.push({ path: `${key}.${i}`, message: 'the kernel keeps 15 characters of a process name' });
  }
  return problems;
}
