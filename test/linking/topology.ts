/**
 * Two "hosts" for the linking tests and the linker benchmark's capture: two
 * network namespaces joined by a veth pair, the services of services.py in
 * them (front in A calls back in B, which calls front's /leaf), and an
 * SDK-instrumented client in A. Everything it makes, `close()` removes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { missingPrograms } from '../helpers/servers';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function httpOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      })
      .on('error', () => resolve(false));
  });
}

export interface Child {
  proc: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

export function start(cmd: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  proc.stdout!.on('data', (d) => output.push(String(d)));
  proc.stderr!.on('data', (d) => output.push(String(d)));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, output, exited };
}

export async function stop(c: Child | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill(signal);
  const done = await Promise.race([c.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    c.proc.kill('SIGKILL');
    await c.exited;
  }
}

/** Why the topology cannot be built here, or undefined. */
export function topologyUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  const missing = missingPrograms('ip', 'python3');
  return missing.length ? `missing programs: ${missing.join(', ')}` : undefined;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

export class TwoHosts {
  readonly tag = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  readonly nsA = `espan-la-${this.tag}`;
  readonly nsB = `espan-lb-${this.tag}`;
  readonly addrA: string;
  readonly addrB: string;
  inodeA = 0;
  inodeB = 0;
  private made = false;
  private readonly children: Child[] = [];

  constructor() {
    const octet = 1 + (Number(this.tag) % 250);
    this.addrA = `10.213.${octet}.1`;
    this.addrB = `10.213.${octet}.2`;
  }

  /** Namespaces, veth pair, addresses; records the namespaces' inode numbers (what netns filters take). */
  create(): void {
    ip('netns', 'add', this.nsA);
    this.made = true;
    ip('netns', 'add', this.nsB);
    const [devA, devB] = [`ela${this.tag}`, `elb${this.tag}`];
    ip('link', 'add', devA, 'type', 'veth', 'peer', 'name', devB);
    ip('link', 'set', devA, 'netns', this.nsA);
    ip('link', 'set', devB, 'netns', this.nsB);
    ip('-n', this.nsA, 'addr', 'add', `${this.addrA}/24`, 'dev', devA);
    ip('-n', this.nsB, 'addr', 'add', `${this.addrB}/24`, 'dev', devB);
    for (const [ns, dev] of [
      [this.nsA, devA],
      [this.nsB, devB],
    ]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    this.inodeA = fs.statSync(`/run/netns/${this.nsA}`).ino;
    this.inodeB = fs.statSync(`/run/netns/${this.nsB}`).ino;
  }

  track(c: Child): Child {
    this.children.push(c);
    return c;
  }

  /** front in A, back in B; resolves once both listen. */
  async startServices(): Promise<void> {
    const services = path.join(__dirname, 'services.py');
    const front = this.track(start('ip', ['netns', 'exec', this.nsA, 'python3', services, 'front', this.addrA, this.addrB], { OTEL_SERVICE_NAME: 'front' }));
    const back = this.track(start('ip', ['netns', 'exec', this.nsB, 'python3', services, 'back', this.addrA, this.addrB], { OTEL_SERVICE_NAME: 'back' }));
    await waitFor('services to listen', () => front.output.join('').includes('ready') && back.output.join('').includes('ready'));
  }

  /** The SDK-instrumented client in A: `count` requests to front; returns its spans as an OTLP/JSON request. */
  async runSdkClient(count: number): Promise<string> {
    const client = start('ip', ['netns', 'exec', this.nsA, process.execPath, path.join(__dirname, 'sdk-client.js'), `http://${this.addrA}:8000/front`, String(count)], {
      OTEL_SERVICE_NAME: 'sdk-client',
    });
    const code = await client.exited;
    const out = client.output.join('');
    if (code !== 0) throw new Error(`sdk client exited with ${code}: ${out}`);
    return out;
  }

  async close(): Promise<void> {
    for (const c of this.children) await stop(c, 'SIGTERM', 3000);
    // deleting a namespace deletes the veth end inside it, and with it the pair
    if (this.made) for (const ns of [this.nsA, this.nsB]) spawnSync('ip', ['netns', 'del', ns]);
    this.made = false;
  }
}
