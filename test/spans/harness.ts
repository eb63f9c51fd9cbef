/**
 * Real-service harness for the span tests: services started on loopback,
 * captured with the ebpf receiver, and the captured records run through the
 * real stages (parse → thread_correlation → propagation → espan).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { from, lastValueFrom, toArray, type OperatorFunction } from 'rxjs';
import type { ComponentContext, ProcessorFactory } from '../../core/component';
import { resolveConfig } from '../../core/config/schema';
import type { L7Message, NetworkRecord, Span } from '../../core/signals';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import { freePort } from '../helpers/servers';
import { testContext } from '../helpers/context';

export const SYSTEM_PYTHON = '/usr/bin/python3';
export const SERVICES = path.join(__dirname, 'services');

/** Why the real-service tests cannot run here, or undefined. */
export function servicesUnavailable(): string | undefined {
  for (const dir of ['receivers/ebpf', 'processors/parse']) {
    if (!fs.existsSync(path.join(__dirname, '../..', dir, 'factory.ts'))) return `${dir} is not there yet`;
  }
  const missing = ['redis-server', 'mariadbd', 'mariadb-install-db'].filter((n) => spawnSync('sh', ['-c', `command -v ${n}`]).status !== 0);
  if (missing.length) return `missing programs: ${missing.join(', ')} (scripts/setup.sh installs them)`;
  const py = spawnSync(SYSTEM_PYTHON, ['-c', 'import redis, pymysql'], { encoding: 'utf8' });
  if (py.status !== 0) return `${SYSTEM_PYTHON} lacks python3-redis/python3-pymysql: ${py.stderr.trim().split('\n').pop()}`;
  return undefined;
}

export function context(id: string, metrics = new ServiceMetrics()): ComponentContext {
  return testContext('processor', id, metrics);
}

/** A processor from its factory and a config block, as the service would make it. */
export function processor<I, O>(factory: ProcessorFactory, raw: Record<string, unknown>, metrics?: ServiceMetrics): OperatorFunction<I[], O[]> {
  const { config, problems } = resolveConfig(factory.schema, raw);
  if (!config) throw new Error(`bad ${factory.type} config: ${JSON.stringify(problems)}`);
  const extra = factory.validate?.(config) ?? [];
  if (extra.length) throw new Error(`bad ${factory.type} config: ${JSON.stringify(extra)}`);
  return factory.create(config, context(factory.type, metrics)).operator as OperatorFunction<I[], O[]>;
}

export async function runStages<O>(records: NetworkRecord[], stages: Array<OperatorFunction<any[], any[]>>): Promise<O[]> {
  const batches: NetworkRecord[][] = [];
  for (let i = 0; i < records.length; i += 1024) batches.push(records.slice(i, i + 1024));
  let stream = from(batches) as any;
  for (const s of stages) stream = stream.pipe(s);
  return ((await lastValueFrom(stream.pipe(toArray()))) as O[][]).flat();
}

export interface Service {
  child: ChildProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function waitReady(child: ChildProcess, what: string): Promise<void> {
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} not ready in 30 s: ${err}`)), 30_000);
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${code}): ${err}`));
    });
  });
}

function stopper(child: ChildProcess, cleanup?: () => void): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    cleanup?.();
  };
}

/** redis-server with a password, so clients send AUTH with a secret on the wire. */
export async function startRedisWithPassword(password: string): Promise<Service> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-spans-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--requirepass', password], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, pid: child.pid!, port, stop: stopper(child, () => fs.rmSync(dir, { recursive: true, force: true })) };
}

export async function startService(argv: string[], env: Record<string, string>, what: string): Promise<Service> {
  const port = await freePort();
  const args = argv.map((a) => (a === '$PORT' ? String(port) : a));
  const child = spawn(args[0], args.slice(1), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitReady(child, what);
  return { child, pid: child.pid!, port, stop: stopper(child) };
}

export interface LoadResult {
  ids: number[];
  errors: number;
  first_error: string | null;
}

export function runLoad(port: number, clients: number, requests: number, idBase: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(SYSTEM_PYTHON, [path.join(SERVICES, 'load.py'), `127.0.0.1:${port}`, String(clients), String(requests), String(idBase)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load failed (${code}): ${err}`))));
  });
}

/** The request id a message carries (query id=N, redis key req:N, SQL 'req-N'), when it carries one. */
export function requestId(m: L7Message): number | undefined {
  const text = m.http?.query ?? m.redis?.args?.join(' ') ?? m.mysql?.sql ?? '';
  const x = /(?:id=|req:|req-)(\d+)/.exec(text);
  return x ? Number(x[1]) : undefined;
}

export function jsonOf(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('latin1') : x));
}

export type { Span };
