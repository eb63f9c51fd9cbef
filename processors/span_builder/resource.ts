/**
 * One OTLP Resource per traced process, read from /proc once and cached.
 * Exporters group spans by resource object, so every span of a process must
 * carry the same object: the cache hands out the one it made.
 */
import * as path from 'node:path';
import { readCgroup, readCmdline, readEnvironValues, readExePath, readStat, type ProcStat } from '../../core/procfs';
import { ConnMeta } from '../../core/records/network-data';
import { redactCommandLine } from '../../core/redaction';
import { ESPAN } from '../../core/semconv';
import type { Attributes, HostInfo, L7Message, Resource } from '../../core/signals';

/** What /proc told about a process; every field may be missing (exited, not permitted). */
export interface ProcInfo {
  /** only the variables asked for */
  env: Map<string, string>;
  exePath?: string;
  cmdline?: string[];
  containerId?: string;
  /** field 22 of /proc/<pid>/stat: tells a reused pid from the process that had it */
  startTime?: string;
  /** the main thread's name (see ProcStat): changes at exec, which keeps the pid and start time */
  comm?: string;
}

export interface ResourceOptions {
  /** environment variables giving service.name, first present wins */
  serviceNameEnv: string[];
  commandLine: boolean;
  maxProcesses: number;
  /** how often a cached process is checked for pid reuse or exec */
  refreshMs: number;
  procRoot: string;
  /** /proc describes this host only: messages from other hosts (replayed captures) get what the message says */
  localHostId: string;
}

// Standard OpenTelemetry SDK variables, read whatever the service-name list says.
const OTEL_SERVICE_NAME = 'OTEL_SERVICE_NAME';
const OTEL_RESOURCE_ATTRIBUTES = 'OTEL_RESOURCE_ATTRIBUTES';
const DD_ENV = 'DD_ENV';
const DD_VERSION = 'DD_VERSION';

const CONTAINER_ID = /(?:^|[/\-:])([0-9a-f]{64})(?:\.scope)?$/;

/** Container id from /proc/<pid>/cgroup lines (docker, containerd, cri-o, podman name their cgroups after it). */
export function containerIdFromCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const p = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1).trim();
    for (const segment of p.split('/').reverse()) {
      const m = CONTAINER_ID.exec(segment);
      if (m) return m[1];
    }
  }
  return undefined;
}

/** OTEL_RESOURCE_ATTRIBUTES: `k=v,k=v`, values percent-encoded (W3C Baggage octets). */
export function parseResourceAttributes(value: string): Attributes {
  const out: Attributes = {};
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const k = pair.slice(0, eq).trim();
    let v = pair.slice(eq + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      continue; // the spec says to discard the whole value on error; one bad pair is dropped here
    }
    if (k) out[k] = v;
  }
  return out;
}

/** Bytes of a comm: the kernel keeps 15 of a longer name. */
const COMM_MAX = 15;

/**
 * The name a person knows a process by: the name it was started as, which
 * the kernel keeps as its comm (the base name of the path given to exec).
 * It differs from the executable's own name when that path is a symlink
 * (/usr/bin/redis-server → redis-check-rdb, /bin/sh → dash). The comm is cut
 * to 15 bytes: the executable's or argv[0]'s base name completes it when it
 * starts with it.
 */
export function startedAs(comm: string | undefined, exeName: string, argv0: string | undefined): string {
  if (comm === undefined) return exeName;
  for (const name of [exeName, argv0 && path.basename(argv0)]) {
    if (name && (name === comm || (comm.length === COMM_MAX && name.startsWith(comm)))) return name;
  }
  return comm;
}

/** Reads the few /proc files a resource needs; missing pieces are left out. */
export function readProc(procRoot: string, pid: number, wantedEnv: ReadonlySet<string>): ProcInfo | undefined {
  const stat = readStat(pid, procRoot);
  if (stat === undefined) return undefined;
  const cgroup = readCgroup(pid, procRoot);
  return {
    env: readEnvironValues(pid, wantedEnv, procRoot) ?? new Map(),
    startTime: stat.startTime,
    comm: stat.comm,
    exePath: readExePath(pid, procRoot),
    cmdline: readCmdline(pid, procRoot),
    containerId: cgroup === undefined ? undefined : containerIdFromCgroup(cgroup),
  };
}

interface Entry {
  resource: Resource;
  startTime?: string;
  comm?: string;
  checkedMs: number;
}

export type ProcReader = (pid: number, wantedEnv: ReadonlySet<string>) => ProcInfo | undefined;

export class ResourceCache {
  /** by processKey, or by endpoint text for messages without a task */
  private readonly entries = new Map<number | string, Entry>();
  /** host id → a small number for processKey; one per host seen, and a span_builder sees a few */
  private readonly hostNumbers = new Map<string, number>();
  private readonly wantedEnv: Set<string>;
  private readonly read: ProcReader;
  private readonly statOf: (pid: number) => Partial<ProcStat> | undefined;
  /** /proc reads done (for tests and telemetry) */
  reads = 0;
  /** the entry looked up last, and its key */
  private lastKey: number | string | undefined;
  private lastEntry: Entry | undefined;
  /** the host of processKey's last message, and its number */
  private lastHost: HostInfo | undefined;
  private lastHostNumber = 0;

  constructor(
    private readonly opts: ResourceOptions,
    read?: ProcReader,
    readonly now: () => number = Date.now,
  ) {
    this.wantedEnv = new Set([...opts.serviceNameEnv, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, DD_ENV, DD_VERSION]);
    this.read = read ?? ((pid, wanted) => readProc(opts.procRoot, pid, wanted));
    this.statOf = read ? (pid) => read(pid, this.wantedEnv) : (pid) => readStat(pid, opts.procRoot);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The resource of the message's process. `nowMs` is the clock, read once
   * per batch by a caller with many messages (a read costs more than the
   * lookup), else here.
   */
  forMessage(m: L7Message, nowMs?: number): Resource {
    const noTask = (m.connMeta & ConnMeta.NO_TASK) !== 0 || m.pid === 0;
    // Without a task the only identity is the endpoint: a server's own port, a client's own address.
    const key = noTask ? `${m.host.hostId}|net|${m.role === 'server' ? `${m.saddr}:${m.sport}` : m.saddr}` : this.processKey(m);
    // messages of one process come in runs
    let e = key === this.lastKey ? this.lastEntry : this.entries.get(key);
    if (e && !noTask && m.host.hostId === this.opts.localHostId) {
      const now = nowMs ?? this.now();
      if (now - e.checkedMs >= this.opts.refreshMs) {
        e.checkedMs = now;
        const stat = this.statOf(m.pid);
        // A new start time is a new process under a reused pid, a new comm an exec; no /proc entry means it exited: keep what was known.
        if (stat && (stat.startTime !== e.startTime || stat.comm !== e.comm)) {
          e = this.build(m, this.read(m.pid, this.wantedEnv), now);
          this.entries.set(key, e);
        }
      }
    }
    if (!e) {
      const now = nowMs ?? this.now();
      if (noTask) e = { resource: this.noTaskResource(m), checkedMs: now };
      else e = this.build(m, m.host.hostId === this.opts.localHostId ? this.read(m.pid, this.wantedEnv) : undefined, now);
      if (this.entries.size >= this.opts.maxProcesses) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.set(key, e);
    }
    this.lastKey = key;
    this.lastEntry = e;
    return e.resource;
  }

  /** Host and pid as one number (pids stay below 2^22, PID_MAX_LIMIT): a string key per span cost more than the lookup. */
  private processKey(m: L7Message): number {
    if (m.host !== this.lastHost) {
      let host = this.hostNumbers.get(m.host.hostId);
      if (host === undefined) this.hostNumbers.set(m.host.hostId, (host = this.hostNumbers.size));
      this.lastHost = m.host;
      this.lastHostNumber = host;
    }
    return this.lastHostNumber * 4194304 + m.pid;
  }

  private build(m: L7Message, info: ProcInfo | undefined, now: number): Entry {
    if (info) this.reads++;
    const attrs: Attributes = {};
    const env = info?.env ?? new Map<string, string>();
    const fromOtel = env.has(OTEL_RESOURCE_ATTRIBUTES) ? parseResourceAttributes(env.get(OTEL_RESOURCE_ATTRIBUTES)!) : {};
    Object.assign(attrs, fromOtel);
    const exeName = info?.exePath ? path.basename(info.exePath.replace(/ \(deleted\)$/, '')) : m.comm;
    const startedName = startedAs(info?.comm, exeName, info?.cmdline?.[0]);
    let serviceName: string | undefined;
    for (const name of this.opts.serviceNameEnv) {
      const v = env.get(name)?.trim();
      if (v) {
        serviceName = v;
        break;
      }
    }
    attrs['service.name'] = serviceName ?? (fromOtel['service.name'] as string | undefined) ?? `unknown_service:${startedName}`;
    if (env.get(DD_VERSION) && attrs['service.version'] === undefined) attrs['service.version'] = env.get(DD_VERSION)!;
    if (env.get(DD_ENV) && attrs['deployment.environment.name'] === undefined) attrs['deployment.environment.name'] = env.get(DD_ENV)!;
    attrs['host.name'] = m.host.hostName;
    attrs['host.id'] = m.host.hostId;
    attrs['os.type'] = 'linux';
    attrs['process.pid'] = m.pid;
    attrs['process.executable.name'] = exeName;
    if (info?.exePath) attrs['process.executable.path'] = info.exePath;
    if (this.opts.commandLine && info?.cmdline) attrs['process.command_line'] = redactCommandLine(info.cmdline).join(' ');
    if (info?.containerId) attrs['container.id'] = info.containerId;
    return { resource: { attributes: attrs }, startTime: info?.startTime, comm: info?.comm, checkedMs: now };
  }

  private noTaskResource(m: L7Message): Resource {
    const endpoint = m.role === 'server' ? `${m.saddr}:${m.sport}` : m.saddr;
    return {
      attributes: {
        'service.name': `unknown_service:${endpoint}`,
        'host.name': m.host.hostName,
        'host.id': m.host.hostId,
        [ESPAN.NO_TASK]: true,
        ...(m.role === 'server' ? { 'server.address': m.saddr, 'server.port': m.sport } : {}),
      },
    };
  }
}
