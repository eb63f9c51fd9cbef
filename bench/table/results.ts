/** What each measurement of the benchmark table returns; render.ts turns them into the table. */

/** In place of a result: why the measurement did not run, or how it broke. */
export interface Unmeasured {
  outcome: 'not measured' | 'failed';
  why: string;
}

export type Outcome<T> = T | Unmeasured;

export function isUnmeasured<T extends object>(x: Outcome<T>): x is Unmeasured {
  return 'outcome' in x;
}

/** Spans exported against requests answered under one load, and what was lost on the way. */
export interface Completeness {
  spans: number;
  requests: number;
  /** records the probe could not hand over */
  kernelDrops: number;
  pipelineDrops: number;
  /** pipeline drops by "component reason" */
  dropReasons: Map<string, number>;
  /** records the probe delivered to espan per second of load */
  recordsPerSecond: number;
}

/** A server under its load generator, untraced and traced by espan, rounds interleaved. */
export interface CaptureOverhead {
  /** the load generator's command line */
  command: string;
  rounds: number;
  untraced: LoadFigures;
  traced: LoadFigures;
  /** of the traced runs, at the highest load the generator reaches */
  completeness: Completeness;
  /** espan's CPU over the traced runs, in cores */
  espanCores: number;
}

export interface LoadFigures {
  /** median over the rounds */
  requestsPerSecond: number;
  /** server + load generator (+ espan when traced), over all rounds */
  cpuUsPerRequest: number;
}

export interface OverheadOutcome {
  server: string;
  generator: string;
  result: Outcome<CaptureOverhead>;
}

/** The full chain on one core, fed from a capture file. */
export interface ReplayThroughput {
  chain: string[];
  /** timed runs, after a warm-up */
  runs: number;
  recordsPerSecond: number;
  spansPerSecond: number;
  recordsPerRun: number;
  spansPerRun: number;
  source: DemoRecording | CommittedCapture;
}

/** Demo-system traffic recorded for the replay. */
export interface DemoRecording {
  checkouts: number;
  checkoutsPerSecond: number;
  concurrentClients: number;
  captureBytes: number;
}

/** The committed capture replayed when the demo system cannot be recorded here. */
export interface CommittedCapture {
  path: string;
  whyNotDemo: string;
}

/** espan's memory and completeness under paced nginx load. */
export interface SteadyRss {
  reachedRate: number;
  seconds: number;
  connections: number;
  /** RSS over the steady part of the run, one sample a second */
  steadyRssKb: { median: number; min: number; max: number; samples: number };
  idleRssKb: number;
  espanCores: number;
  completeness: Completeness;
  /** requests the paced schedule had not sent when it ended */
  behind: number;
}

/** Everything one run of the table measured; a measurement left out with --only is undefined. */
export interface TableResults {
  machine: string;
  /** YYYY-MM-DD */
  date: string;
  seconds: number;
  overhead?: OverheadOutcome[];
  replay?: Outcome<ReplayThroughput>;
  steadyRss?: { targetRate: number; result: Outcome<SteadyRss> };
}
