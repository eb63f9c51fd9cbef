/**
 * espan as its own process (`node bin/espan run --config FILE`), the way it is
 * deployed: its RSS and CPU are then espan's alone, and its counters are read
 * from its Prometheus endpoint.
 */
import { projectRoot } from '../../core/project-root';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../test/helpers/servers';
import { cpuMsOf, rssKbOf } from './measure';

const BIN = path.join(projectRoot(), 'bin', 'espan');

export interface Series {
  labels: Record<string, string>;
  value: number;
}

export interface EspanProcess {
  pid: number;
  /** every series of a Prometheus metric */
  series(name: string): Promise<Series[]>;
  /** the sum of a Prometheus counter or gauge over the series whose labels include `labels` */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  rssKb(): number;
  cpuMs(): number;
  /** SIGTERM, and the exit code once it flushed and stopped */
  stop(): Promise<number | null>;
}

/**
 * Starts espan with `config` (YAML without a service.telemetry section: one
 * serving metrics on a free port is added) and resolves once it says it runs.
 */
export async function startEspan(config: string, opts: { cpus?: string; startTimeoutMs?: number } = {}): Promise<EspanProcess> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-bench-run-'));
  const file = path.join(dir, 'pipeline.yaml');
  const withTelemetry = config.replace(/^service:\n/m, `service:\n  telemetry:\n    metrics: {level: normal, address: "127.0.0.1:${port}"}\n    logs: {level: info}\n`);
  fs.writeFileSync(file, withTelemetry);
  const argv = [BIN, 'run', '--config', file];
  const child: ChildProcess = opts.cpus ? spawn('taskset', ['-c', opts.cpus, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`espan did not start within ${opts.startTimeoutMs ?? 30_000} ms:\n${output}`)), opts.startTimeoutMs ?? 30_000);
    const onData = (d: Buffer): void => {
      output += d;
      if (output.includes('espan is running')) {
        clearTimeout(timer);
        resolve();
      }
      if (output.length > 100_000) output = output.slice(-50_000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`espan exited (${code}) before running:\n${output}`));
    });
  });
  const pid = child.pid!; // taskset execs node in place: the same pid
  const series = async (name: string): Promise<Series[]> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const out: Series[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (m && m[1] === name) out.push({ labels: Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]])), value: Number(m[3]) });
    }
    return out;
  };
  return {
    pid,
    series,
    async metric(name, labels = {}) {
      const all = await series(name);
      return all.filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((s, x) => s + x.value, 0);
    },
    rssKb: () => rssKbOf(pid),
    cpuMs: () => cpuMsOf(`/proc/${pid}/stat`),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        // unref: once espan exited, the timer must not hold the benchmark for its 20 s
        const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref())]);
        if (code === 'timeout') child.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
      return child.exitCode;
    },
  };
}
