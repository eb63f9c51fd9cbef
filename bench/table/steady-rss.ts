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
import { completeness, log, settledCounts, tracedChain } from './shared';

export interface SteadyRssOptions {
  /** requests/s */
  rate: number;
  seconds: number;
}

const CONNECTIONS = 64;

export async function steadyRss(ebpfWhy: string | undefined, opts: SteadyRssOptions): Promise<Outcome<SteadyRss>> {
  const missing = missingPrograms('nginx');
  if (ebpfWhy || missing.length) return { outcome: 'not measured', why: ebpfWhy ?? `not installed: ${missing.join(', ')}` };
  const nginx = await startNginx(SMALL_PAGE);
  try {
    return await pacedAgainst(nginx.port, opts);
  } finally {
    await nginx.stop();
  }
}

async function pacedAgainst(nginxPort: number, opts: SteadyRssOptions): Promise<SteadyRss> {
  const espan = await startEspan(tracedChain('nginx'));
  try {
    const idleRssKb = espan.rssKb();
    await sleep(500);
    log(`paced load at ${opts.rate} req/s for ${opts.seconds} s`);
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(espan.rssKb()), 1000);
    const cpu0 = espan.cpuMs();
    const load = await pacedHttp(nginxPort, '/index.html', { rate: opts.rate, seconds: opts.seconds, connections: CONNECTIONS });
    clearInterval(sampler);
    const espanCpuMs = espan.cpuMs() - cpu0;
    const counts = await settledCounts(espan);
    // steady state: the second half of the run, once the chain's windows and heaps have filled
    const steady = samples.slice(Math.floor(samples.length / 2));
    return {
      reachedRate: load.sent / load.seconds,
      seconds: opts.seconds,
      connections: CONNECTIONS,
      steadyRssKb: { median: median(steady), min: Math.min(...steady), max: Math.max(...steady), samples: steady.length },
      idleRssKb,
      espanCores: espanCpuMs / 1000 / load.seconds,
      completeness: completeness([counts], load.answered, load.seconds),
      behind: load.behind,
    };
  } finally {
    await espan.stop();
  }
}
