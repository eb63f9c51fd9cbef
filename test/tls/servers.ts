/**
 * TLS servers for the TLS capture tests: a self-signed certificate made with
 * `openssl req`, Debian's nginx serving HTTPS from its own prefix, and Node's
 * `https` server, each on a free loopback port and stopped by its `stop()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, nginxConf } from '../helpers/servers';

export interface Cert {
  dir: string;
  cert: string;
  key: string;
}

/** A throw-away key and self-signed certificate for 127.0.0.1 / localhost. */
export function makeCert(): Cert {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { dir, cert, key };
}

export interface TlsServer {
  port: number;
  /** the process that serves connections (nginx: its one worker) */
  pids: number[];
  child: ChildProcess;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function waitFor(what: string, ready: () => boolean, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ready()) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${log()}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready in 20 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface NginxOptions {
  env?: Record<string, string>;
  /** address to listen on (127.0.0.1) */
  host?: string;
  /** run through this, e.g. `ip netns exec NS` */
  prefix?: string[];
}

/** nginx with TLS, one worker, answering /hello with 200 and anything else with 404, from its own temporary prefix. */
export async function startNginxTls(cert: Cert, { env = {}, host = '127.0.0.1', prefix = [] }: NginxOptions = {}): Promise<TlsServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-nginx-tls-'));
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    nginxConf(
      dir,
      `server {
    listen ${host}:${port} ssl;
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    location = /hello { default_type text/plain; return 200 "hello over tls\\n"; }
    location / { return 404; }
  }`,
    ),
  );
  const argv = [...prefix, 'nginx', '-p', dir, '-c', conf];
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const workers = (): number[] => {
    const r = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean).map(Number);
  };
  await waitFor('nginx', () => workers().length > 0 && fs.existsSync(`${dir}/nginx.pid`), child, () => err + readIf(`${dir}/error.log`));
  return {
    port,
    pids: workers(),
    child,
    async stop() {
      await stopChild(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readIf(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Node's `https` server (a child process), answering every request with 200 and a short text. */
export async function startNodeHttps(cert: Cert): Promise<TlsServer> {
  const port = await freePort();
  const script = `
const https = require('node:https');
const fs = require('node:fs');
const server = https.createServer({ cert: fs.readFileSync(${JSON.stringify(cert.cert)}), key: fs.readFileSync(${JSON.stringify(cert.key)}) }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(req.url.startsWith('/hello') ? 200 : 404, { 'content-type': 'text/plain' });
    res.end('hello from node https\\n');
  });
});
server.listen(${port}, '127.0.0.1', () => console.log('ready'));
`;
  // from a file: a script on the command line would be in the spans' process.command_line
  const file = path.join(cert.dir, `https-${port}.js`);
  fs.writeFileSync(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  await waitFor('node https', () => out.includes('ready'), child, () => err);
  return { port, pids: [child.pid!], child, stop: () => stopChild(child) };
}
