/**
 * espan's RSS at a steady request rate: paced keep-alive GETs against nginx
 * (the demo's Python front service serves far less on two cores), traced by
 * espan running the full chain as its own process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { missingPrograms, startNginx } from '../../test/helpers/servers';
import { startEspan } from '../lib/espan-process';
import { median, SMALL_PAGE } from '../lib/measure';
import { pacedHttp } from '../lib/paced-http';
import type { Outcome, SteadyRss } from './results';
import { completeness, holdingMs, log, serverPids, settledCounts, tracedChain } from './shared';

export interface SteadyRssOptions {
  /** requests/s */
  rate: number;
  seconds: number;
}

const CONNECTIONS = 64;

interface RssSample {
  /** since the load started */
  seconds: number;
  kb: number;
}

/** The least-squares slope of y over x. */
export function slope(x: number[], y: number[]): number {
  const n = x.length;
  if (n < 2) return NaN;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxy / sxx;
}

export async function steadyRss(ebpfWhy: string | undefined, opts: SteadyRssOptions): Promise<Outcome<SteadyRss>> {
  const missing = missingPrograms('nginx');
  if (ebpfWhy || missing.length) return { outcome: 'not measured', why: ebpfWhy ?? `not installed: ${missing.join(', ')}` };
  const nginx = await startNginx(SMALL_PAGE);
  try {
    return await pacedAgainst(nginx.port, serverPids(nginx.pid), opts);
  } finally {
    await nginx.stop();
  }
}

async function pacedAgainst(nginxPort: number, nginxPids: number[], opts: SteadyRssOptions): Promise<SteadyRss> {
  const config = tracedChain(nginxPids);
  const espan = await startEspan(config);
  try {
    const idleRssKb = espan.rssKb();
    await sleep(500);
    log(`paced load at ${opts.rate} req/s for ${opts.seconds} s`);
    const samples: RssSample[] = [];
    const t0 = performance.now();
    const sampler = setInterval(() => samples.push({ seconds: (performance.now() - t0) / 1000, kb: espan.rssKb() }), 1000);
    const cpu0 = espan.cpuMs();
    const load = await pacedHttp(nginxPort, '/index.html', { rate: opts.rate, seconds: opts.seconds, connections: CONNECTIONS });
    clearInterval(sampler);
    const espanCpuMs = espan.cpuMs() - cpu0;
    const holding = holdingMs(config);
    const counts = await settledCounts(espan, { requests: load.answered, holdingMs: holding });
    // steady state: once the chain's windows and heaps have filled (it held items for its holding time), at least the second half
    const steadyFrom = Math.min(holding / 1000, opts.seconds / 2);
    const steady = samples.filter((x) => x.seconds >= steadyFrom);
    const kb = steady.map((x) => x.kb);
    return {
      reachedRate: load.sent / load.seconds,
      seconds: opts.seconds,
      connections: CONNECTIONS,
      steadyRssKb: { median: median(kb), min: Math.min(...kb), max: Math.max(...kb), samples: steady.length },
      steadySlopeMbPerMinute: (slope(steady.map((x) => x.seconds), kb) * 60) / 1024,
      idleRssKb,
      espanCores: espanCpuMs / 1000 / load.seconds,
      completeness: completeness([counts], load.answered, load.seconds),
      behind: load.behind,
    };
  } finally {
    await espan.stop();
  }
}
