/**
 * The traced processes and the executable file each runs, from one pass over
 * /proc: what the per-executable uprobes (Go runtime, libuv loops) are put on.
 * A uprobe on a file covers every process running it, so a file is known by
 * its device and inode, whatever path or symlink a process ran it by.
 */
import * as fs from 'node:fs';

export interface TracedProcess {
  pid: number;
  /** /proc/<pid>/exe: opens the file the process runs, also from another mount namespace */
  exe: string;
  /** device:inode of that file */
  file: string;
}

/** The traced processes with a readable executable (kernel threads, processes gone meanwhile and others' are left out). */
export function tracedProcesses(traced: (pid: number) => boolean, procRoot = '/proc'): TracedProcess[] {
  let names: string[];
  try {
    names = fs.readdirSync(procRoot);
  } catch {
    return [];
  }
  const found: TracedProcess[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (!traced(pid)) continue;
    const exe = `${procRoot}/${pid}/exe`;
    try {
      const st = fs.statSync(exe);
      found.push({ pid, exe, file: `${st.dev}:${st.ino}` });
    } catch {
      // a kernel thread, gone, or not ours to look at
    }
  }
  return found;
}

/** Where the executable's link points, for messages; the link itself when unreadable. */
export function shownPath(exe: string): string {
  try {
    return fs.readlinkSync(exe);
  } catch {
    return exe;
  }
}
