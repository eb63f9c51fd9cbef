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

/** How espan traces: the full chain in one process, or an agent exporting to a linker process. */
export type Role = 'all-in-one' | 'agent';

/** A server under its load generator, untraced and traced by espan in each role, rounds interleaved. */
export interface CaptureOverhead {
  /** the load generator's command line */
  command: string;
  rounds: number;
  untraced: LoadFigures;
  /** one per role, traced in the same rounds */
  roles: RoleOverhead[];
}

/** The traced runs of one role. */
export interface RoleOverhead {
  role: Role;
  /** the processors of the espan that traces */
  chain: string[];
  /** CPU per request counts the espan process that traces (the agent, not the linker) */
  traced: LoadFigures;
  /** CPU of the espan process that traces per request, µs, from the load's start until its spans were out: probe hand-over, pipeline, export */
  espanCpuUsPerRequest: number;
  /** likewise of the linker (otlp → nop), in the agent role */
  linkerCpuUsPerRequest?: number;
  /** at the highest load the generator reaches; spans counted where they leave (the linker's, in the agent role) */
  completeness: Completeness;
  /** espan's CPU over the traced runs, in cores */
  espanCores: number;
  /** the warm-up loads espan traced first, one per traced run, summed */
  warmUp: { requests: number; espanCpuUsPerRequest: number; kernelDrops: number };
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
  /** timed runs, after warmUpRuns untimed ones */
  runs: number;
  warmUpRuns: number;
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

/** What each stage of the full chain costs on one core, from a capture. */
export interface StageCosts {
  /** the capture replayed */
  capture: string;
  /** timed rounds, after warmUpRounds untimed ones */
  runs: number;
  warmUpRounds: number;
  /** replays of the capture in each round's run of a prefix (a small capture is replayed several times) */
  replaysPerRun: number;
  /** of one replay of the capture: records in, messages out of parse, spans out of span_builder */
  records: number;
  messages: number;
  spans: number;
  /**
   * In chain order: the CPU (ms per replay, median over the rounds) each
   * stage adds to the prefix before it, all less the pipeline's start and
   * stop; `replay` is replay → nop alone; `OTLP encoding` is the whole
   * chain into OTLP protobuf requests against the whole chain to nop.
   */
  stages: Array<{ stage: string; cpuMs: number }>;
  /** median CPU (ms) of one replay through the whole chain to nop, and into OTLP encoding */
  chainCpuMs: number;
  encodedCpuMs: number;
  /** median CPU (ms) of starting and stopping the pipeline of the whole chain into OTLP encoding (a replay of one record) */
  startStopCpuMs: number;
}

/** espan's memory and completeness under paced nginx load. */
export interface SteadyRss {
  reachedRate: number;
  seconds: number;
  connections: number;
  /** RSS over the steady part of the run (from the chain's holding time on, at least the second half), one sample a second */
  steadyRssKb: { median: number; min: number; max: number; samples: number };
  /** least-squares slope of those samples: flat is 0 */
  steadySlopeMbPerMinute: number;
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
  stages?: Outcome<StageCosts>;
  steadyRss?: { targetRate: number; result: Outcome<SteadyRss> };
}
