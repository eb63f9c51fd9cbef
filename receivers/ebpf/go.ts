/**
 * Goroutines of Go processes, user-space side: finds the processes whose
 * executable is a Go program (go-binary.ts), tells the probe where their
 * runtime keeps the goroutine id (so that their records carry it as the
 * user-level thread id), and attaches the goroutine uprobes to each
 * executable once (a uprobe on a file covers every process running it). A Go
 * program that cannot be followed (see GoBinary.problem) is said once per
 * executable; its records keep the thread id alone.
 */
import { readStat } from '../../core/procfs';
import { shownPath, tracedProcesses, type TracedProcess } from './executables';
import { readGoBinary, type GoBinary, type GoOffsets } from './go-binary';

export interface GoProbe {
  setGoProcess(pid: number, offsets: GoOffsets): boolean;
  deleteGoProcess(pid: number): boolean;
  /** returns an error text, or '' */
  attachGo(path: string, gostartcallfn: number, send: number): string;
}

export interface GoEvents {
  /** a Go process found: followed by goroutine, or not (with why, once per executable) */
  process(result: 'traced' | 'unsupported'): void;
  unsupported(message: string, fields: Record<string, unknown>): void;
  traced(fields: Record<string, unknown>): void;
}

/** What was decided for an executable (by device:inode). */
interface Executable {
  /** undefined: not Go */
  binary: GoBinary | undefined;
  /** the goroutine uprobes are on it */
  attached: boolean;
  /** why its goroutines are not followed; undefined: they are */
  problem?: string;
}

export class GoAttacher {
  private readonly executables = new Map<string, Executable>();
  /** pid → the process's identity (start time and executable) when last looked at, and whether the probe follows it */
  private readonly processes = new Map<number, { identity: string; go: boolean }>();

  /** `traced`: whether a process is traced (only their executables get uprobes: each trap costs the process) */
  constructor(
    private readonly probe: GoProbe,
    private readonly events: GoEvents,
    private readonly traced: (pid: number) => boolean,
    private readonly procRoot = '/proc',
  ) {}

  /** Looks at the traced processes that started or exec'd since the last scan, and forgets the ones gone. */
  scan(processes: readonly TracedProcess[] = tracedProcesses(this.traced, this.procRoot)): void {
    const alive = new Set<number>();
    for (const { pid, exe, file } of processes) {
      alive.add(pid);
      const stat = readStat(pid, this.procRoot);
      if (!stat) continue;
      const identity = `${stat.startTime}:${file}`;
      const known = this.processes.get(pid);
      if (known?.identity === identity) continue;
      if (known?.go) this.probe.deleteGoProcess(pid);
      const go = this.follow(pid, exe, file);
      this.processes.set(pid, { identity, go });
    }
    for (const [pid, p] of this.processes) {
      if (alive.has(pid)) continue;
      if (p.go) this.probe.deleteGoProcess(pid);
      this.processes.delete(pid);
    }
  }

  /** true when the probe now follows the process's goroutines */
  private follow(pid: number, exe: string, fileKey: string): boolean {
    let e = this.executables.get(fileKey);
    if (!e) {
      e = this.examine(exe);
      this.executables.set(fileKey, e);
    }
    if (!e.binary) return false;
    if (e.problem || !e.attached) {
      this.events.process('unsupported');
      return false;
    }
    if (!this.probe.setGoProcess(pid, e.binary.offsets!)) return false;
    this.events.process('traced');
    return true;
  }

  private examine(exe: string): Executable {
    const shown = shownPath(exe);
    let binary: GoBinary | undefined;
    try {
      binary = readGoBinary(exe);
    } catch (e) {
      return { binary: undefined, attached: false, problem: (e as Error).message };
    }
    if (!binary) return { binary, attached: false };
    const fields = { executable: shown, go_version: binary.version };
    if (binary.problem) {
      this.events.unsupported("Go program's goroutines not followed: its outbound calls stay unlinked", { ...fields, reason: binary.problem });
      return { binary, attached: false, problem: binary.problem };
    }
    const f = binary.functions!;
    const error = this.probe.attachGo(exe, f.gostartcallfn, f.send);
    if (error) {
      this.events.unsupported("Go program's goroutines not followed: its outbound calls stay unlinked", { ...fields, reason: error });
      return { binary, attached: false, problem: error };
    }
    this.events.traced({ ...fields, offsets_from: binary.offsetsFrom });
    return { binary, attached: true };
  }
}
