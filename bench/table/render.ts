/** The benchmark table in Markdown, with the machine and notes, from the measurements' results. */
import type { Completeness, OverheadOutcome, ReplayThroughput, SteadyRss, TableResults, Unmeasured } from './results';
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
  return lines.join('\n');
}

function overheadRows({ server, generator, result: o }: OverheadOutcome): Row[] {
  if (isUnmeasured(o)) return [unmeasuredRow(`capture overhead, ${server} (${generator})`, o)];
  const { untraced, traced } = o;
  return [
    {
      measurement: `capture overhead, ${server} (${o.command})`,
      result:
        `throughput ×${(traced.requestsPerSecond / untraced.requestsPerSecond).toFixed(2)} (${fmt(untraced.requestsPerSecond)} → ${fmt(traced.requestsPerSecond)} req/s); ` +
        `CPU/request ${untraced.cpuUsPerRequest.toFixed(1)} → ${traced.cpuUsPerRequest.toFixed(1)} µs (×${(untraced.cpuUsPerRequest / traced.cpuUsPerRequest).toFixed(2)})`,
      how: `medians of ${o.rounds} interleaved rounds; traced = full chain to nop in its own process, tracing ${server} only; CPU = ${server} + ${o.command} (+ espan)`,
    },
    {
      measurement: `span completeness and drops at the highest load, ${server}`,
      result: completenessText(o.completeness),
      how: `${o.command} unpaced at ${fmt(traced.requestsPerSecond)} req/s traced; ${fmt(o.completeness.recordsPerSecond)} records/s into espan, espan at ${percent(o.espanCores)} of a core`,
    },
  ];
}

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
      `replay → ${replay.chain.join(' → ')} → nop, pinned with taskset to one core, ${replay.runs} runs after a warm-up ` +
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
      result: `${mb(rss.median)} MB (${mb(rss.min)}–${mb(rss.max)} MB over the last ${rss.samples} s; ${mb(result.idleRssKb)} MB idle)`,
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

const percent = (share: number): string => `${(share * 100).toFixed(0)}%`;
