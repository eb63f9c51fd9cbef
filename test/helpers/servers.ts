/**
 * Real servers for tests, benchmarks and the demo, from Debian's packages:
 * each on a free loopback port with its own temporary directory, stopped with
 * its `stop()`. Nothing here touches the system's own instances.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface RunningServer {
  port: number;
  pid: number;
  dir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Which of the Debian programs these helpers need are missing. */
/** Runs a program to its end: its standard output, or an error with its standard error when it fails. */
export function runProgram(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} failed (${code}): ${err}`))));
  });
}

export function missingPrograms(...names: string[]): string[] {
  return names.filter((n) => spawnSync('sh', ['-c', `command -v ${n}`]).status !== 0);
}

async function waitForPort(port: number, child: ChildProcess, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops a server (SIGTERM, SIGKILL after 5 s) and removes its directory. */
export function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `espan-${name}-`));
}

export async function startRedis(env: Record<string, string> = {}): Promise<RunningServer> {
  const port = await freePort();
  const dir = tempDir('redis');
  // redis writes its title over its environment, as users' servers do: espan
  // reads OTEL_SERVICE_NAME from the process's memory then.
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
    env: { ...process.env, ...env },
  });
  await waitForPort(port, child, 'redis-server');
  return { port, pid: child.pid!, dir, child, stop: stopper(child, dir) };
}

export interface MariadbServer extends RunningServer {
  user: string;
  password: string;
  database: string;
  socket: string;
}

/**
 * A private mariadbd with a database and a password-protected user, so
 * clients go through a real handshake with authentication.
 */
export async function startMariadb(env: Record<string, string> = {}): Promise<MariadbServer> {
  const port = await freePort();
  const dir = tempDir('mariadb');
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const install = spawnSync('mariadb-install-db', ['--user=root', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], {
    encoding: 'utf8',
  });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
  const init = path.join(dir, 'init.sql');
  fs.writeFileSync(
    init,
    "CREATE DATABASE IF NOT EXISTS shop;\nCREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app-secret';\nGRANT ALL ON shop.* TO 'app'@'%';\n" +
      'CREATE TABLE IF NOT EXISTS shop.users (id INT PRIMARY KEY, name VARCHAR(64), email VARCHAR(128));\n' +
      "INSERT IGNORE INTO shop.users VALUES (1,'ada','ada@example.com'),(2,'linus','linus@example.com'),(3,'grace','grace@example.com');\n",
  );
  const child = spawn(
    'mariadbd',
    ['--no-defaults', '--user=root', `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1', `--init-file=${init}`, '--skip-log-bin', '--innodb-buffer-pool-size=32M', `--pid-file=${path.join(dir, 'pid')}`],
    { stdio: 'ignore', env: { ...process.env, ...env } },
  );
  await waitForPort(port, child, 'mariadbd', 60_000);
  return { port, pid: child.pid!, dir, child, stop: stopper(child, dir), user: 'app', password: 'app-secret', database: 'shop', socket };
}

/** An nginx.conf with one worker running as root from `dir` (its pid, error log and temp files there), serving the `server` block given. */
export function nginxConf(dir: string, server: string): string {
  return `daemon off;
master_process on;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  ${server.trim()}
}
`;
}

/** nginx serving `files` (name → content) with one worker, logging off. */
export async function startNginx(files: Record<string, string | Buffer>, workers = 1): Promise<RunningServer> {
  const port = await freePort();
  const dir = tempDir('nginx');
  fs.chmodSync(dir, 0o755); // workers run unprivileged and must read the files
  const root = path.join(dir, 'www');
  fs.mkdirSync(root);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(root, name), content);
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`,
  );
  const child = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
  await waitForPort(port, child, 'nginx');
  return { port, pid: child.pid!, dir, child, stop: stopper(child, dir) };
}
