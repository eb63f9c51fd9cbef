/**
 * The files of /proc/<pid> that espan reads. Each reader returns undefined when
 * the file cannot be read: the process exited, is a kernel thread (no environ,
 * no exe), or belongs to a user whose files this process may not read.
 * An environment a process wrote its title over is read from its memory.
 * `procRoot` is where the host's /proc is mounted (/host/proc in a container).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { symbolOffset } from './elf';
import { addressText } from './records/network-data';

function procFile(procRoot: string, pid: number, name: string): string {
  return path.join(procRoot, String(pid), name);
}

/** The environment block the process started with: NUL-separated NAME=value. */
export function readEnviron(pid: number, procRoot = '/proc'): Buffer | undefined {
  try {
    return fs.readFileSync(procFile(procRoot, pid, 'environ'));
  } catch {
    return undefined;
  }
}

/** The values of the `wanted` variables in an environ block; the others are not kept. */
export function environValues(block: Buffer, wanted: ReadonlySet<string>): Map<string, string> {
  const values = new Map<string, string>();
  for (const kv of block.toString('utf8').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0 && wanted.has(kv.slice(0, eq))) values.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return values;
}

/** The command-line arguments; undefined also when there are none (kernel threads, zombies). */
export function readCmdline(pid: number, procRoot = '/proc'): string[] | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(procFile(procRoot, pid, 'cmdline'), 'utf8');
  } catch {
    return undefined;
  }
  const args = raw.split('\0');
  // a process that wrote its title over its arguments leaves the rest of their area NULs
  while (args[args.length - 1] === '') args.pop();
  return args.length ? args : undefined;
}

/** Where the executable is (" (deleted)" appended once its file was removed). */
export function readExePath(pid: number, procRoot = '/proc'): string | undefined {
  try {
    return fs.readlinkSync(procFile(procRoot, pid, 'exe'));
  } catch {
    return undefined;
  }
}

/** The text of /proc/<pid>/cgroup: one `id:controllers:path` line per hierarchy. */
export function readCgroup(pid: number, procRoot = '/proc'): string | undefined {
  try {
    return fs.readFileSync(procFile(procRoot, pid, 'cgroup'), 'utf8');
  } catch {
    return undefined;
  }
}

/** What /proc/<pid>/stat tells about the process itself. */
export interface ProcStat {
  /**
   * The main thread's name: the kernel sets it at exec to the base name of the
   * path exec was given, before symlinks are followed, cut to 15 bytes; the
   * process may rename itself later.
   */
  comm: string;
  /** field 22, the start time in clock ticks: tells a reused pid from the process that had it */
  startTime: string;
}

export function readStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(procFile(procRoot, pid, 'stat'), 'latin1');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: it ends at the last ')'
  const close = stat.lastIndexOf(')');
  const startTime = stat.slice(close + 2).split(' ')[19];
  return startTime === undefined ? undefined : { comm: stat.slice(stat.indexOf('(') + 1, close), startTime };
}

/**
 * Whether an environ block no longer holds the environment. A process that
 * writes its title over its argument and environment area (setproctitle:
 * redis-server, nginx, postgres) leaves title text and NULs there, while an
 * environment is NAME=value strings, each with a name.
 */
export function environOverwritten(block: Buffer): boolean {
  for (let start = 0; start < block.length; ) {
    let end = block.indexOf(0, start);
    if (end < 0) end = block.length;
    const eq = block.indexOf(0x3d, start);
    if (eq <= start || eq >= end) return true;
    start = end + 1;
  }
  return false;
}

/**
 * The values of the `wanted` variables of a process's environment: from
 * /proc/<pid>/environ, or, when the process wrote its title over that, from
 * the environment it holds in memory now (readLiveEnvironValues).
 */
export function readEnvironValues(pid: number, wanted: ReadonlySet<string>, procRoot = '/proc'): Map<string, string> | undefined {
  const block = readEnviron(pid, procRoot);
  if (block === undefined) return undefined;
  if (!environOverwritten(block)) return environValues(block, wanted);
  return readLiveEnvironValues(pid, wanted, procRoot) ?? environValues(block, wanted);
}

/** C library symbols of the environment pointer, `char **environ` (glibc and musl define both). */
const ENVIRON_SYMBOLS = ['__environ', 'environ'];
const LIBC = /\/(?:libc\.so[.\d]*|libc-[\d.]+\.so|ld-musl-[^/]*\.so[.\d]*)$/;
/** Offset of `environ` in a mapped object, by the object's device, inode and path: libc is read once for all processes. */
const environOffsets = new Map<string, number | undefined>();
const MAX_OBJECTS_CACHED = 256;
const MAX_VARIABLES = 4096;
/** the kernel's limit for one exec string (MAX_ARG_STRLEN) */
const MAX_STRING_BYTES = 32 * 4096;
const POINTERS_PER_READ = 64;

interface MappedObject {
  start: bigint;
  range: string;
  key: string;
  path: string;
}

/** Objects mapped from their file offset 0 in /proc/<pid>/maps: where each one starts. */
function mappedObjects(pid: number, procRoot: string): MappedObject[] {
  let maps: string;
  try {
    maps = fs.readFileSync(procFile(procRoot, pid, 'maps'), 'utf8');
  } catch {
    return [];
  }
  const objects: MappedObject[] = [];
  for (const m of maps.matchAll(/^(([0-9a-f]+)-[0-9a-f]+) \S+ 0+ (\S+) ([1-9]\d*) +(\/.*)$/gm)) {
    objects.push({ range: m[1], start: BigInt(`0x${m[2]}`), key: `${m[3]} ${m[4]} ${m[5]}`, path: m[5] });
  }
  return objects;
}

/** map_files reaches the very file mapped, also in another mount namespace or deleted since; root/ when that is refused (it needs CAP_SYS_ADMIN). */
function objectFile(pid: number, procRoot: string, o: MappedObject): string {
  const mapped = procFile(procRoot, pid, `map_files/${o.range}`);
  try {
    fs.accessSync(mapped, fs.constants.R_OK);
    return mapped;
  } catch {
    return path.join(procRoot, String(pid), 'root', o.path);
  }
}

function environOffset(pid: number, procRoot: string, o: MappedObject): number | undefined {
  if (environOffsets.has(o.key)) return environOffsets.get(o.key);
  const offset = symbolOffset(objectFile(pid, procRoot, o), ENVIRON_SYMBOLS);
  if (environOffsets.size >= MAX_OBJECTS_CACHED) environOffsets.clear();
  environOffsets.set(o.key, offset);
  return offset;
}

/**
 * Where the process's `environ` variable is: in its executable when that
 * defines it (a program that uses environ holds a copy relocation of it, and
 * the dynamic linker points the C library there too), else in its C library.
 */
function environAddress(pid: number, procRoot: string): bigint | undefined {
  const exe = readExePath(pid, procRoot);
  const objects = mappedObjects(pid, procRoot);
  for (const o of [...objects.filter((o) => o.path === exe), ...objects.filter((o) => LIBC.test(o.path))]) {
    const offset = environOffset(pid, procRoot, o);
    if (offset !== undefined) return o.start + BigInt(offset);
  }
  return undefined;
}

function readMem(fd: number, address: bigint, length: number): Buffer {
  const b = Buffer.alloc(length);
  // a read that reaches an unmapped page stops there
  return b.subarray(0, fs.readSync(fd, b, 0, length, address));
}

/** The NUL-terminated string at `address`, undefined when longer than an exec string may be. */
function readCString(fd: number, address: bigint): Buffer | undefined {
  for (let length = 256; length <= MAX_STRING_BYTES; length *= 8) {
    const b = readMem(fd, address, length);
    const nul = b.indexOf(0);
    if (nul >= 0) return b.subarray(0, nul);
    if (b.length < length) return undefined;
  }
  return undefined;
}

/**
 * The values of the `wanted` variables of the environment a process holds in
 * memory now: the strings its C library's `environ` points to. Programs that
 * write their title over their environment area copy the environment
 * elsewhere first and point environ there, so this finds what
 * /proc/<pid>/environ lost. Needs the right to read /proc/<pid>/mem (root).
 * Of the other variables only the first bytes are read (as many as the
 * longest wanted name), and at most 4096 variables.
 */
export function readLiveEnvironValues(pid: number, wanted: ReadonlySet<string>, procRoot = '/proc'): Map<string, string> | undefined {
  const at = environAddress(pid, procRoot);
  if (at === undefined) return undefined;
  let fd: number;
  try {
    fd = fs.openSync(procFile(procRoot, pid, 'mem'), 'r');
  } catch {
    return undefined;
  }
  try {
    const values = new Map<string, string>();
    const nameBytes = Math.max(0, ...[...wanted].map((w) => Buffer.byteLength(w))) + 1;
    const environ = readMem(fd, at, 8);
    if (environ.length < 8) return undefined;
    const vars = environ.readBigUInt64LE(0);
    for (let i = 0; vars !== 0n && i < MAX_VARIABLES; i += POINTERS_PER_READ) {
      const pointers = readMem(fd, vars + BigInt(i * 8), POINTERS_PER_READ * 8);
      for (let p = 0; p + 8 <= pointers.length; p += 8) {
        const s = pointers.readBigUInt64LE(p);
        if (s === 0n) return values;
        const head = readMem(fd, s, nameBytes);
        const eq = head.indexOf(0x3d);
        if (eq <= 0 || head.subarray(0, eq).includes(0)) continue;
        const name = head.toString('latin1', 0, eq);
        if (!wanted.has(name)) continue;
        const value = readCString(fd, s + BigInt(eq + 1));
        if (value) values.set(name, value.toString('utf8'));
      }
      if (pointers.length < POINTERS_PER_READ * 8) break;
    }
    return values;
  } catch {
    return undefined; // the process exited, or its memory is not ours to read
  } finally {
    fs.closeSync(fd);
  }
}

/** A listening TCP socket: its local address (as records write addresses) and port. */
export interface TcpListener {
  addr: string;
  port: number;
}

const TCP_LISTEN = '0A';
const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * The listening TCP sockets, IPv4 and IPv6, of the network namespace that
 * process `pid` is in (/proc/<pid>/net/tcp and tcp6); undefined when neither
 * can be read.
 */
export function readTcpListeners(pid: number, procRoot = '/proc'): TcpListener[] | undefined {
  const listeners: TcpListener[] = [];
  let read = false;
  for (const v6 of [false, true]) {
    let table: string;
    try {
      table = fs.readFileSync(procFile(procRoot, pid, v6 ? 'net/tcp6' : 'net/tcp'), 'latin1');
    } catch {
      continue;
    }
    read = true;
    // "  sl  local_address rem_address   st ...": a header line, then one socket per line
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== TCP_LISTEN) continue;
      const colon = fields[1].indexOf(':');
      listeners.push({ addr: procNetAddress(fields[1].slice(0, colon), v6), port: parseInt(fields[1].slice(colon + 1), 16) });
    }
  }
  return read ? listeners : undefined;
}

/** An address of /proc/net/tcp{,6}: 32-bit words in hex, each in the host's byte order. */
function procNetAddress(hex: string, v6: boolean): string {
  const bytes = new Uint8Array(16);
  for (let w = 0; w * 8 < hex.length; w++) {
    const word = parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    const at = (v6 ? 0 : 12) + w * 4;
    for (let i = 0; i < 4; i++) bytes[at + (LITTLE_ENDIAN ? i : 3 - i)] = (word >>> (8 * i)) & 0xff;
  }
  return addressText(bytes, 0, v6);
}
