/**
 * libuv event loops (Node.js), user-space side: puts the probe's end-of-poll-
 * phase uprobe (bpf/espan.bpf.c, event-loop ticks) on uv__run_check in each
 * traced process's executable, once per file (a uprobe on a file covers every
 * process running it; only traced processes' files, as each trap costs the
 * process). Executables without that symbol (no libuv, or stripped, or libuv
 * as a shared library without its internal symbols) are left alone: their
 * loops' calls are not linked by ticks.
 */
import * as fs from 'node:fs';

export interface LoopProbe {
  /** '' attached, 'absent' no uv__run_check in the file, else an error text */
  attachLoop(path: string): string;
}

export class LoopAttacher {
  /** executables looked at, by device:inode */
  private readonly files = new Set<string>();

  constructor(
    private readonly probe: LoopProbe,
    private readonly traced: (pid: number) => boolean,
    private readonly attached: (executable: string) => void,
    private readonly failed: (executable: string, error: string) => void,
    private readonly procRoot = '/proc',
  ) {}

  /** Looks at the executables of traced processes not seen before. */
  scan(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.procRoot);
    } catch {
      return;
    }
    for (const name of names) {
      if (!/^\d+$/.test(name) || !this.traced(Number(name))) continue;
      const exe = `${this.procRoot}/${name}/exe`;
      let key: string;
      try {
        const st = fs.statSync(exe);
        key = `${st.dev}:${st.ino}`;
      } catch {
        continue; // a kernel thread, gone, or not ours to look at
      }
      if (this.files.has(key)) continue;
      this.files.add(key);
      let shown = exe;
      try {
        shown = fs.readlinkSync(exe);
      } catch {
        // the link is only for the messages
      }
      const error = this.probe.attachLoop(exe);
      if (!error) this.attached(shown);
      else if (error !== 'absent') this.failed(shown, error);
    }
  }
}
