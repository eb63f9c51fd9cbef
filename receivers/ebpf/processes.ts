/**
 * Which processes are traced, as the reference agent decides it: all of them,
 * or those whose environment names a service, plus name and pid lists; the
 * exclusions win. The decision is a pure function; ProcessTracker applies it to
 * /proc and keeps the probe's pid map current as processes start and exit.
 */
import * as fs from 'node:fs';
import { readEnvironValues, readStat } from '../../core/procfs';

export interface ProcessSelection {
  traceAll: boolean;
  serviceEnvVars: string[];
  includeComms: string[];
  excludeComms: string[];
  includePids: number[];
  excludePids: number[];
  /** espan itself: never traced */
  selfPid: number;
}

export interface ProcessFacts {
  pid: number;
  comm: string;
  /** which of the service variables its environment holds (values are not needed to decide) */
  envNames: ReadonlySet<string> | undefined;
}

export type Verdict = 'include' | 'exclude' | 'none';

export function processVerdict(p: ProcessFacts, s: ProcessSelection): Verdict {
  if (p.pid === s.selfPid || s.excludePids.includes(p.pid) || s.excludeComms.includes(p.comm)) return 'exclude';
  if (s.traceAll) return 'none'; // traced without an entry: the probe's map stays small
  if (s.includePids.includes(p.pid) || s.includeComms.includes(p.comm)) return 'include';
  if (p.envNames && s.serviceEnvVars.some((v) => p.envNames!.has(v))) return 'include';
  return 'none';
}

/** Whether deciding needs the environment at all (reading every process's environ costs). */
export function needsEnvironment(s: ProcessSelection): boolean {
  return !s.traceAll && s.serviceEnvVars.length > 0;
}

export interface PidMap {
  setPid(pid: number, verdict: 'include' | 'exclude'): void;
  deletePid(pid: number): void;
}

/**
 * Keeps the probe's pid map in line with /proc. A process is read once (and
 * again when its name or start time changes: an exec, a reused pid); the
 * probe itself adds a traced process's children at fork and removes exited
 * ones, so a scan only has to catch processes that were selected by their own
 * environment or name.
 */
export class ProcessTracker {
  private readonly known = new Map<number, { comm: string; startTime: string; verdict: Verdict }>();
  /** the variables to look for, when deciding needs the environment */
  private readonly serviceEnv?: ReadonlySet<string>;

  constructor(
    private readonly selection: ProcessSelection,
    private readonly map: PidMap,
    private readonly procRoot = '/proc',
  ) {
    if (needsEnvironment(selection)) this.serviceEnv = new Set(selection.serviceEnvVars);
  }

  /** Whether the last scan found the process traced (with trace_all_processes: not excluded). */
  traced(pid: number): boolean {
    const v = this.known.get(pid)?.verdict;
    return this.selection.traceAll ? v !== undefined && v !== 'exclude' : v === 'include';
  }

  /** Returns the pids traced through an include entry after this scan. */
  scan(): { included: number; excluded: number } {
    const seen = new Set<number>();
    let entries: string[];
    try {
      entries = fs.readdirSync(this.procRoot);
    } catch {
      entries = [];
    }
    for (const name of entries) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(name);
      seen.add(pid);
      const stat = readStat(pid, this.procRoot);
      if (!stat) continue; // exited since readdir
      const prev = this.known.get(pid);
      if (prev && stat.comm === prev.comm && stat.startTime === prev.startTime) continue;
      // kernel threads and vanished processes have no environment; a title written over it is looked past
      const envValues = this.serviceEnv && readEnvironValues(pid, this.serviceEnv, this.procRoot);
      const verdict = processVerdict({ pid, comm: stat.comm, envNames: envValues && new Set(envValues.keys()) }, this.selection);
      if (verdict === 'none') {
        // The probe may have inherited an include from the parent at fork; the process's own facts decide.
        if (prev?.verdict !== 'none') this.map.deletePid(pid);
      } else if (verdict !== prev?.verdict) {
        this.map.setPid(pid, verdict);
      }
      this.known.set(pid, { comm: stat.comm, startTime: stat.startTime, verdict });
    }
    for (const pid of this.known.keys()) {
      if (!seen.has(pid)) {
        this.known.delete(pid);
        this.map.deletePid(pid);
      }
    }
    // espan's own pid and listed pids hold even before /proc shows them.
    this.map.setPid(this.selection.selfPid, 'exclude');
    let included = 0;
    let excluded = 0;
    for (const k of this.known.values()) {
      if (k.verdict === 'include') included++;
      else if (k.verdict === 'exclude') excluded++;
    }
    return { included, excluded };
  }
}
