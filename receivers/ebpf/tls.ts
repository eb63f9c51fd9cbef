/**
 * TLS plaintext capture, user-space side: finds the files holding OpenSSL's
 * SSL_read/SSL_write — the TLS libraries processes map, and executables that
 * link OpenSSL in and export it (Node's `node`) — and has the probe attach its
 * uprobes to each file once: a uprobe on a file covers every process that maps
 * it, now or later, and the programs keep to traced processes. Files are told
 * apart by device and inode, so a library reached by several paths (or from
 * inside a container, through /proc/PID/root) is probed once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TlsSettings {
  /** file names (libssl.so.3) or absolute paths of TLS libraries */
  libraries: string[];
  /** also look for the functions in each process's executable */
  executables: boolean;
}

export interface TlsProbe {
  attachTls(path: string): { functions: string[]; error?: string };
  takeExecs(): number[];
}

export interface ProbedFile {
  path: string;
  functions: string[];
}

/** Where the dynamic loader finds system libraries. */
const LIBRARY_DIRS = [`/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib'];

/** A process that exec'd is looked at again this much later: libraries loaded with dlopen (Python's ssl module) come after start-up. */
const RECHECK_AFTER_MS = 1000;

/** The files in a /proc/PID/maps text that are one of `libraries` (by file name, or by path for absolute entries). */
export function mappedLibraries(maps: string, libraries: readonly string[]): string[] {
  const found = new Set<string>();
  for (const line of maps.split('\n')) {
    const at = line.indexOf('/');
    if (at < 0) continue;
    const file = line.slice(at);
    if (file.endsWith(' (deleted)')) continue;
    if (libraries.some((l) => (l.startsWith('/') ? l === file : path.basename(file) === l))) found.add(file);
  }
  return [...found];
}

export class TlsAttacher {
  /** every file looked at, by device:inode, with the functions probed in it (none: no OpenSSL there) */
  private readonly looked = new Map<string, string[]>();
  private recheck: Array<{ pid: number; at: number }> = [];
  readonly probed: ProbedFile[] = [];

  constructor(
    private readonly probe: TlsProbe,
    private readonly settings: TlsSettings,
    private readonly warn: (message: string, fields: Record<string, unknown>) => void,
  ) {}

  /** The libraries in the system directories, then what every running process maps. */
  start(): void {
    for (const lib of this.settings.libraries) {
      for (const file of lib.startsWith('/') ? [lib] : LIBRARY_DIRS.map((d) => path.join(d, lib))) this.attach(file, file);
    }
    let entries: string[] = [];
    try {
      entries = fs.readdirSync('/proc');
    } catch {
      // no /proc: the libraries found above are all there is
    }
    for (const name of entries) if (/^\d+$/.test(name)) this.scanProcess(Number(name));
  }

  /** Looks at the processes that exec'd since the last poll (and again a little later). */
  poll(now = Date.now()): void {
    for (const pid of this.probe.takeExecs()) {
      this.scanProcess(pid);
      this.recheck.push({ pid, at: now + RECHECK_AFTER_MS });
    }
    if (this.recheck.length && this.recheck[0].at <= now) {
      const due = this.recheck.filter((r) => r.at <= now);
      this.recheck = this.recheck.filter((r) => r.at > now);
      for (const r of due) this.scanProcess(r.pid);
    }
  }

  scanProcess(pid: number): void {
    let maps: string;
    try {
      maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      return; // gone, or a kernel thread
    }
    // the process's own view of the file system: a container's libraries are not the host's
    for (const file of mappedLibraries(maps, this.settings.libraries)) this.attach(`/proc/${pid}/root${file}`, file);
    if (this.settings.executables) {
      let exe: string;
      try {
        exe = fs.readlinkSync(`/proc/${pid}/exe`);
      } catch {
        return;
      }
      // most executables have no OpenSSL inside, and some are not even ELF files libbpf can read: no warning
      this.attach(`/proc/${pid}/exe`, exe, true);
    }
  }

  private attach(file: string, shown: string, quiet = false): void {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return;
    }
    const key = `${st.dev}:${st.ino}`;
    if (this.looked.has(key) || !st.isFile()) return;
    const { functions, error } = this.probe.attachTls(file);
    this.looked.set(key, functions);
    if (functions.length) this.probed.push({ path: shown, functions });
    if (error && !quiet) this.warn('TLS functions not probed', { file: shown, error });
  }
}
