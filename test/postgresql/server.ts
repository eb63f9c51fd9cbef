/**
 * A private PostgreSQL 15 server from Debian's packages for the real-server
 * tests: its own cluster in a temporary directory (initdb as the `postgres`
 * user, since the server refuses to run as root), on a free loopback port,
 * never the system's own cluster. Roles: `postgres` with trust, `app` with
 * SCRAM-SHA-256, `plain` with a cleartext password on the wire. With `tls`,
 * the server accepts TLS (a self-signed certificate); without, it answers
 * every SSLRequest `N`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../helpers/servers';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
export const APP_PASSWORD = 'app-SECRET-scram-pw';
export const PLAIN_PASSWORD = 'plain-SECRET-clear-pw';
const OS_USER = 'postgres';

export interface PostgresServer {
  port: number;
  dir: string;
  /** runs psql as the trusted superuser on `database`; throws on failure */
  psql(sql: string, database?: string): string;
  stop(): void;
}

/** Why these tests cannot run here, or undefined. */
export function postgresUnavailable(): string | undefined {
  for (const p of [`${PG_BIN}/initdb`, `${PG_BIN}/pg_ctl`, '/usr/bin/psql', '/usr/bin/pgbench']) {
    if (!fs.existsSync(p)) return `${p} missing (scripts/setup.sh installs postgresql and postgresql-client)`;
  }
  if (spawnSync('id', ['-u', OS_USER]).status !== 0) return `no ${OS_USER} user to run the server as`;
  if (process.getuid?.() !== 0) return 'not root: cannot run the server as another user';
  const py = spawnSync('/usr/bin/python3', ['-c', 'import psycopg2'], { encoding: 'utf8' });
  if (py.status !== 0) return '/usr/bin/python3 lacks python3-psycopg2 (scripts/setup.sh installs it)';
  return undefined;
}

function run(argv: string[], what: string, env: Record<string, string> = {}): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

const asPostgres = (argv: string[]): string[] => ['runuser', '-u', OS_USER, '--', ...argv];

export async function startPostgres(opts: { tls?: boolean } = {}): Promise<PostgresServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-postgresql-'));
  fs.chownSync(dir, Number(run(['id', '-u', OS_USER], 'id').trim()), Number(run(['id', '-g', OS_USER], 'id').trim()));
  const data = path.join(dir, 'data');
  run(asPostgres([`${PG_BIN}/initdb`, '-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']), 'initdb');
  fs.writeFileSync(
    path.join(data, 'pg_hba.conf'),
    'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all app 127.0.0.1/32 scram-sha-256\nhost all plain 127.0.0.1/32 password\n',
  );
  if (opts.tls) {
    run(asPostgres(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(data, 'server.key'), '-out', path.join(data, 'server.crt'), '-subj', '/CN=localhost', '-days', '2']), 'openssl');
  }
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c ssl=${opts.tls ? 'on' : 'off'} -c shared_buffers=16MB -c max_connections=20`;
  run(asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']), 'pg_ctl start');
  const psql = (sql: string, database = 'postgres'): string =>
    run(['psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-c', sql], `psql ${sql}`);
  return {
    port,
    dir,
    psql,
    stop() {
      spawnSync(asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-m', 'immediate', '-w', 'stop'])[0], asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-m', 'immediate', '-w', 'stop']).slice(1));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
