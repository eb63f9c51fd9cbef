/**
 * The files of /proc/<pid> that espan reads. Each reader returns undefined when
 * the file cannot be read: the process exited, is a kernel thread (no environ,
 * no exe), or belongs to a user whose files this process may not read.
 * `procRoot` is where the host's /proc is mounted (/host/proc in a container).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

function procFile(procRoot: string, pid: number, name: string): string {
  return path.join(procRoot, String(pid), name);
}

/** The process's name, as the kernel keeps it (at most 15 bytes). */
export function readComm(pid: number, procRoot = '/proc'): string | undefined {
  try {
    return fs.readFileSync(procFile(procRoot, pid, 'comm'), 'latin1').replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/** The environment block the process started with: NUL-separated NAME=value. */
export function readEnviron(pid: number, procRoot = '/proc'): Buffer | undefined {
  try {
    return fs.readFileSync(procFile(procRoot, pid, 'environ'));
  } catch {
    return undefined;
  }
}

/** Names in an environ block (deciding which processes to trace needs no values). */
export function environNames(block: Buffer): Set<string> {
  const names = new Set<string>();
  let start = 0;
  for (let i = 0; i <= block.length; i++) {
    if (i === block.length || block[i] === 0) {
      if (i > start) {
        const eq = block.indexOf(0x3d, start);
        const end = eq >= 0 && eq < i ? eq : i;
        names.add(block.toString('latin1', start, end));
      }
      start = i + 1;
    }
  }
  return names;
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
  if (args[args.length - 1] === '') args.pop();
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

/** Field 22 of /proc/<pid>/stat, the start time in clock ticks: tells a reused pid from the process that had it. */
export function readStartTime(pid: number, procRoot = '/proc'): string | undefined {
  try {
    const stat = fs.readFileSync(procFile(procRoot, pid, 'stat'), 'latin1');
    // comm (field 2) may hold spaces and parentheses: count fields after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
