/**
 * The listening TCP sockets of each network namespace on this host, read from
 * /proc when a connection's side must be inferred (once per connection, never
 * per record) and kept for `refreshMs`, for at most `maxNamespaces`
 * namespaces. Records of other hosts (replayed captures) and records without
 * a process (pcap) get nothing: /proc does not describe them.
 */
import { readTcpListeners, type TcpListener } from '../../core/procfs';
import { ConnMeta } from '../../core/records/network-data';
import type { NetworkRecord } from '../../core/signals';

interface Entry {
  listeners: TcpListener[];
  readAt: number;
}

export class ListeningSockets {
  /** by network namespace inode, oldest read first */
  private readonly byNetns = new Map<number, Entry>();
  /** /proc tables read (for tests) */
  reads = 0;

  constructor(
    private readonly procRoot: string,
    private readonly localHostId: string,
    private readonly refreshMs = 30_000,
    private readonly maxNamespaces = 256,
    private readonly now: () => number = Date.now,
    private readonly read: (pid: number, procRoot: string) => TcpListener[] | undefined = readTcpListeners,
  ) {}

  /** The listening sockets of the namespace `r` was captured in, or undefined when /proc cannot tell. */
  of(r: NetworkRecord): TcpListener[] | undefined {
    if (r.host.hostId !== this.localHostId || r.pid === 0 || r.connMeta & ConnMeta.NO_TASK) return undefined;
    const now = this.now();
    const cached = this.byNetns.get(r.netns);
    if (cached && now - cached.readAt < this.refreshMs) return cached.listeners;
    // Any process of the namespace shows its table; this one is alive, or was a moment ago.
    this.reads++;
    const listeners = this.read(r.pid, this.procRoot);
    if (!listeners) return cached?.listeners; // the process is gone: what was read before still holds best
    this.byNetns.delete(r.netns);
    if (this.byNetns.size >= this.maxNamespaces) this.byNetns.delete(this.byNetns.keys().next().value!);
    this.byNetns.set(r.netns, { listeners, readAt: now });
    return listeners;
  }
}
