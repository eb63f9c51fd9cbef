/**
 * Which processes are traced, as the reference agent decides it: all of them,
 * or those whose environment names a service, plus name and pid lists; the
 * exclusions win. The decision is a pure function; ProcessTracker applies it to
 * /proc and keeps the probe's pid map current as processes start and exit.
 */
import * as fs from 'node:fs';
import { environNames, readComm, readEnviron } from '../../core/procfs';

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
  /** names of the environment variables (values are not needed to decide) */
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

function readProcess(pid: number, withEnv: boolean): ProcessFacts | undefined {
  const comm = readComm(pid);
  if (comm === undefined) return undefined; // exited between readdir and read
  // kernel threads and vanished processes have no environment
  const environ = withEnv ? readEnviron(pid) : undefined;
  return { pid, comm, envNames: environ && environNames(environ) };
}

/**
 * Keeps the probe's pid map in line with /proc. A process is read once (and
 * again when its name changes, i.e. after exec); the probe itself adds a
 * traced process's children at fork and removes exited ones, so a scan only
 * has to catch processes that were selected by their own environment or name.
 */
export class ProcessTracker {
  private readonly known = new Map<number, { comm: string; verdict: Verdict }>();

  constructor(
    private readonly selection: ProcessSelection,
    private readonly map: PidMap,
  ) {}

  /** Returns the pids traced through an include entry after this scan. */
  scan(): { included: number; excluded: number } {
    const withEnv = needsEnvironment(this.selection);
    const seen = new Set<number>();
    let entries: string[];
    try {
      entries = fs.readdirSync('/proc');
    } catch {
      entries = [];
    }
    for (const name of entries) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(name);
      seen.add(pid);
      const prev = this.known.get(pid);
      if (prev) {
        const comm = readComm(pid);
        if (comm === undefined || comm === prev.comm) continue;
      }
      const facts = readProcess(pid, withEnv);
      if (!facts) continue;
      const verdict = processVerdict(facts, this.selection);
      if (verdict === 'none') {
        // The probe may have inherited an include from the parent at fork; the process's own facts decide.
        if (prev?.verdict !== 'none') this.map.deletePid(pid);
      } else if (verdict !== prev?.verdict) {
        this.map.setPid(pid, verdict);
      }
      this.known.set(pid, { comm: facts.comm, verdict });
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
