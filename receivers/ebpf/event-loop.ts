/**
 * libuv event loops (Node.js), user-space side: puts the probe's end-of-poll-
 * phase uprobe (bpf/espan.bpf.c, event-loop ticks) on uv__run_check in each
 * traced process's executable, once per file (a uprobe on a file covers every
 * process running it; only traced processes' files, as each trap costs the
 * process). Executables without that symbol (no libuv, or stripped, or libuv
 * as a shared library without its internal symbols) are left alone: their
 * loops' calls are not linked by ticks.
 */
import { shownPath, tracedProcesses, type TracedProcess } from './executables';

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
  scan(processes: readonly TracedProcess[] = tracedProcesses(this.traced, this.procRoot)): void {
    for (const { exe, file } of processes) {
      if (this.files.has(file)) continue;
      this.files.add(file);
      const error = this.probe.attachLoop(exe);
      if (!error) this.attached(shownPath(exe));
      else if (error !== 'absent') this.failed(shownPath(exe), error);
    }
  }
}
