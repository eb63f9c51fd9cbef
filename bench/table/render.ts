/** The benchmark table in Markdown, with the machine and notes, from the measurements' results. */
import type { CaptureOverhead, Completeness, LoadFigures, OverheadOutcome, ReplayThroughput, RoleOverhead, StageCosts, SteadyRss, TableResults, Unmeasured } from './results';
import { isUnmeasured } from './results';

interface Row {
  measurement: string;
  result: string;
  how: string;
}

export function renderTable(results: TableResults): string {
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const o of results.overhead ?? []) rows.push(...overheadRows(o));
  if (results.replay) {
    rows.push(replayRow(results.replay));
    const demoNote = isUnmeasured(results.replay) ? undefined : demoRateNote(results.replay);
    if (demoNote) notes.push(demoNote);
  }
  const stages = results.stages;
  if (stages) rows.push(stagesRow(stages));
  if (results.steadyRss) rows.push(...steadyRssRows(results.steadyRss.targetRate, results.steadyRss.result));
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [
    `Machine: ${results.machine}; ${results.date}; took ${results.seconds.toFixed(0)} s.`,
    '',
    '| measurement | result | how |',
    '|---|---|---|',
    ...rows.map((r) => `| ${cell(r.measurement)} | ${cell(r.result)} | ${cell(r.how)} |`),
  ];
  if (notes.length) lines.push('', ...notes);
  if (stages && !isUnmeasured(stages)) lines.push('', renderStages(stages));
  return lines.join('\n');
}

const STAGES = 'chain stages from a capture, one core';

function stagesRow(costs: StageCosts | Unmeasured): Row {
  if (isUnmeasured(costs)) return unmeasuredRow(STAGES, costs);
  return {
    measurement: STAGES,
    result: `${fmt(spansPerSecond(costs.spans, costs.chainCpuMs))} spans/s of CPU through the full chain to nop, ${fmt(spansPerSecond(costs.spans, costs.encodedCpuMs))} with OTLP encoding; per stage below`,
    how: stagesHow(costs),
  };
}

const spansPerSecond = (spans: number, cpuMs: number): number => (spans / cpuMs) * 1000;

function stagesHow(c: StageCosts): string {
  return (
    `${c.capture} (${fmt(c.records)} records → ${fmt(c.messages)} messages → ${fmt(c.spans)} spans) replayed through growing prefixes of the chain, pinned with taskset to one core; ` +
    `a stage's cost = the CPU its prefix adds to the one before, median of ${c.runs} interleaved rounds after ${c.warmUpRounds} untimed ones, no collection forced between runs` +
    (c.replaysPerRun > 1 ? ` (each the mean of ${c.replaysPerRun} replays of the capture)` : '')
  );
}

/** The per-stage costs as their own Markdown table: CPU per run and per record, message and span. */
export function renderStages(c: StageCosts): string {
  const ns = (ms: number, n: number): string => (n > 0 ? fmt((ms * 1e6) / n) : '–');
  const line = (stage: string, ms: number): string => `| ${stage} | ${ms.toFixed(1)} | ${ns(ms, c.records)} | ${ns(ms, c.messages)} | ${ns(ms, c.spans)} |`;
  return [
    `Per stage, CPU (ns) per record, message and span: ${stagesHow(c)}.`,
    '',
    '| stage | ms per replay | ns/record | ns/message | ns/span |',
    '|---|---:|---:|---:|---:|',
    ...c.stages.map((s, i) => line(i === 0 ? 'replay → nop' : s.stage === 'OTLP encoding' ? s.stage : `+ ${s.stage}`, s.cpuMs)),
    line('**full chain to nop**', c.chainCpuMs),
    line('**full chain with OTLP encoding**', c.encodedCpuMs),
    '',
    `Full chain: ${fmt(spansPerSecond(c.spans, c.chainCpuMs))} spans/s of CPU to nop, ${fmt(spansPerSecond(c.spans, c.encodedCpuMs))} with OTLP encoding. ` +
      `Starting and stopping the pipeline (${c.startStopCpuMs.toFixed(1)} ms, measured as a replay of the capture's first record alone) is left out of every figure.`,
  ].join('\n');
}

function overheadRows({ server, generator, result: o }: OverheadOutcome): Row[] {
  if (isUnmeasured(o)) return [unmeasuredRow(`capture overhead, ${server} (${generator})`, o)];
  const allInOne = o.roles.find((r) => r.role === 'all-in-one');
  return o.roles.flatMap((r) => (r.role === 'agent' ? agentRows(server, o, r, allInOne) : allInOneRows(server, o, r)));
}

/** "×0.50 (61,000 → 30,500 req/s)" */
function throughputText(untraced: LoadFigures, traced: LoadFigures): string {
  return `×${(traced.requestsPerSecond / untraced.requestsPerSecond).toFixed(2)} (${fmt(untraced.requestsPerSecond)} → ${fmt(traced.requestsPerSecond)} req/s)`;
}

function allInOneRows(server: string, o: CaptureOverhead, r: RoleOverhead): Row[] {
  const untraced = o.untraced;
  const traced = r.traced;
  return [
    {
      measurement: `capture overhead, ${server} (${o.command})`,
      result:
        `throughput ${throughputText(untraced, traced)}; ` +
        `CPU/request ${untraced.cpuUsPerRequest.toFixed(1)} → ${traced.cpuUsPerRequest.toFixed(1)} µs (×${(untraced.cpuUsPerRequest / traced.cpuUsPerRequest).toFixed(2)}), espan ${us(r.espanCpuUsPerRequest)} of it ` +
        `(${us(r.warmUp.espanCpuUsPerRequest)} over its warm-up load)`,
      how:
        `medians of ${o.rounds} interleaved rounds; traced = ebpf → ${r.chain.join(' → ')} → nop in its own process, tracing ${server} only; CPU = ${server} + ${o.command} (+ espan, until its spans were out); ` +
        WARM_UP,
    },
    completenessRow(`span completeness and drops at the highest load, ${server}`, o.command, r),
  ];
}

function agentRows(server: string, o: CaptureOverhead, r: RoleOverhead, allInOne: RoleOverhead | undefined): Row[] {
  const increase = (x: RoleOverhead): number => x.traced.cpuUsPerRequest - o.untraced.cpuUsPerRequest;
  const vs = (f: (x: RoleOverhead) => string): string => (allInOne ? ` (all-in-one ${f(allInOne)})` : '');
  return [
    {
      measurement: `agent role, ${server} (${o.command})`,
      result:
        `espan (agent) CPU/request ${us(r.espanCpuUsPerRequest)}${vs((x) => us(x.espanCpuUsPerRequest))}, ` +
        `${us(r.warmUp.espanCpuUsPerRequest)} over its warm-up load${vs((x) => us(x.warmUp.espanCpuUsPerRequest))}; ` +
        `CPU/request increase ${signed(increase(r), 1)} µs${vs((x) => `${signed(increase(x), 1)} µs`)}; throughput ${throughputText(o.untraced, r.traced)}`,
      how:
        `examples/agent.yaml's chain (ebpf → ${r.chain.join(' → ')} → otlp) tracing ${server} only, exporting to an espan linker (otlp → nop) in another process ` +
        `(${us(r.linkerCpuUsPerRequest ?? NaN)}/request, not counted); espan CPU = the agent process, from /proc, until its spans were out (the probe's kernel time is spent in ${server} and counted in the increase); ` +
        `increase = ${server} + ${o.command} + agent, traced minus untraced; same ${o.rounds} interleaved rounds as the capture overhead row; ` +
        WARM_UP,
    },
    completenessRow(`span completeness and drops at the highest load, agent role, ${server}`, o.command, r, 'spans received by the linker'),
  ];
}

function completenessRow(measurement: string, command: string, r: RoleOverhead, spans = 'spans exported'): Row {
  return {
    measurement,
    result: completenessText(r.completeness),
    how:
      `${command} unpaced at ${fmt(r.traced.requestsPerSecond)} req/s traced; ${spans}; ${fmt(r.completeness.recordsPerSecond)} records/s into espan, espan at ${percent(r.espanCores)} of a core; ` +
      `not counted: the warm-up loads before (${fmt(r.warmUp.requests)} requests, ${fmt(r.warmUp.kernelDrops)} kernel drops)`,
  };
}

const WARM_UP =
  "each traced espan is started for its run and first traces the server's warm-up load (wrk for 1 s, or a fifth of redis-benchmark's requests), as the untraced server had one: " +
  'the figures are the steady cost of a running espan; the warm-up load, while V8 compiles its code, costs more per request, as shown';

const us = (n: number): string => `${n.toFixed(1)} µs`;

const REPLAY = 'full pipeline throughput from replay, one core';

function replayRow(replay: ReplayThroughput | Unmeasured): Row {
  if (isUnmeasured(replay)) return unmeasuredRow(REPLAY, replay);
  const s = replay.source;
  const source =
    'checkouts' in s
      ? `${fmt(s.checkouts)} demo checkouts (front → redis, mariadb, inventory → redis; ${fmt(s.checkoutsPerSecond)}/s, ${s.concurrentClients} at a time), recorded by the record exporter, ${(s.captureBytes / 1e6).toFixed(1)} MB`
      : `${s.path} (no demo recording: ${s.whyNotDemo})`;
  return {
    measurement: REPLAY,
    result: `${fmt(replay.recordsPerSecond)} records/s, ${fmt(replay.spansPerSecond)} spans/s`,
    how:
      `replay → ${replay.chain.join(' → ')} → nop, pinned with taskset to one core, ${replay.runs} runs after ${replay.warmUpRuns} untimed ones ` +
      `(${fmt(replay.recordsPerRun)} records → ${fmt(replay.spansPerRun)} spans each, flush at shutdown included); ${source}`,
  };
}

/** Why the RSS row is not measured against the demo system, with the figure that shows it. */
function demoRateNote(replay: ReplayThroughput): string | undefined {
  const s = replay.source;
  if (!('checkouts' in s)) return undefined;
  return `The demo system reached ${fmt(s.checkoutsPerSecond)} checkouts/s on this machine (${s.concurrentClients} concurrent clients), far from 10k req/s: the RSS row is measured against nginx.`;
}

function steadyRssRows(targetRate: number, result: SteadyRss | Unmeasured): Row[] {
  const measurement = `espan RSS at a steady ${fmt(targetRate)} req/s`;
  if (isUnmeasured(result)) return [unmeasuredRow(measurement, result)];
  const rss = result.steadyRssKb;
  const mb = (kb: number): string => (kb / 1024).toFixed(0);
  return [
    {
      measurement,
      result:
        `${mb(rss.median)} MB (${mb(rss.min)}–${mb(rss.max)} MB over the last ${rss.samples} s, slope ${signed(result.steadySlopeMbPerMinute, 1)} MB/min; ` +
        `${mb(result.idleRssKb)} MB idle)`,
      how: `paced keep-alive GETs against nginx (${result.connections} connections) reaching ${fmt(result.reachedRate)} req/s for ${result.seconds} s; full chain to nop tracing nginx; espan at ${percent(result.espanCores)} of a core`,
    },
    {
      measurement: `span completeness and drops at ${fmt(targetRate)} req/s, nginx`,
      result: completenessText(result.completeness),
      how: `the paced run above; ${fmt(result.completeness.recordsPerSecond)} records/s into espan${result.behind > 0 ? `; the schedule ended ${fmt(result.behind)} requests behind` : ''}`,
    },
  ];
}

function unmeasuredRow(measurement: string, u: Unmeasured): Row {
  return { measurement, result: u.outcome, how: u.why };
}

/** "99.12% (… spans / … requests); drops: …", the drop reasons most first */
function completenessText(c: Completeness): string {
  const why = [...c.dropReasons].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt(v)}`);
  const drops = `drops: kernel ${fmt(c.kernelDrops)} records, pipeline ${fmt(c.pipelineDrops)}${why.length ? ` (${why.join('; ')})` : ''}`;
  return `${((c.spans / c.requests) * 100).toFixed(2)}% (${fmt(c.spans)} spans / ${fmt(c.requests)} requests); ${drops}`;
}

const fmt = (n: number): string => n.toLocaleString('en', { maximumFractionDigits: 0 });

/** "+1.5" / "-0.3" */
const signed = (n: number, digits: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;

const percent = (share: number): string => `${(share * 100).toFixed(0)}%`;
