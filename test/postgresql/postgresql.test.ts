/**
 * PostgreSQL on the real thing: Debian's PostgreSQL 15 server started here
 * (its own cluster, on a free loopback port), driven by psql, pgbench,
 * Python's psycopg2 and a Node client speaking the raw protocol; both ends
 * captured with the ebpf receiver and run through parse → thread_correlation
 * → propagation → span_builder. Messages and spans are checked exactly, per
 * client, from the client's end and the server's. A second server takes TLS:
 * its plaintext is parsed when the probe takes it, and parsing stops at TLS
 * records when it does not.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ConnMeta } from '../../core/records/network-data';
import { StatusCode, type L7Message, type NetworkRecord, type Span } from '../../core/signals';
import { ServiceMetrics } from '../../core/telemetry/metrics';
import { parseFactory } from '../../processors/parse/factory';
import { propagationFactory } from '../../processors/propagation/factory';
import { spanBuilderFactory } from '../../processors/span_builder/factory';
import { threadCorrelationFactory } from '../../processors/thread_correlation/factory';
import { ebpfUnavailable, sleep, startCapture } from '../ebpf/harness';
import { jsonOf, processor, runStages, SYSTEM_PYTHON } from '../spans/harness';
import { APP_PASSWORD, PLAIN_PASSWORD, postgresUnavailable, startPostgres, type PostgresServer } from './server';

const run = promisify(execFile);
const PGBENCH_TRANSACTIONS = 25;
const PGBENCH_CLIENTS = 2;
const PGBENCH_SCRIPT = '\\set id random(1, 3)\nSELECT name FROM users WHERE id = :id;\nUPDATE events SET note = note WHERE id = :id;\n';

interface Captured {
  records: NetworkRecord[];
  messages: L7Message[];
  spans: Span[];
  pgbenchProcessed: number;
  parseFailures: number;
  python: { names: string[]; ids: number[]; error: string };
  raw: { errors: string[] };
}

/** What a message says, in one line: its command, SQL, operation, rows, SQLSTATE and outcome. */
const line = (m: L7Message): string => {
  const p = m.postgresql!;
  return [p.command, p.sql ?? '-', p.operation ?? '-', p.rows ?? p.affectedRows ?? '-', p.sqlState ?? '-', m.outcome].join(' | ');
};

describe('postgresql over real clients and server (eBPF)', function () {
  this.timeout(180_000);
  let server: PostgresServer | undefined;
  let got: Captured;

  before(async function () {
    const why = postgresUnavailable() ?? ebpfUnavailable();
    if (why) {
      console.log(`      skipping the PostgreSQL tests: ${why}`);
      this.skip();
    }
    server = await startPostgres();
    const s = server;
    s.psql('CREATE DATABASE shop');
    s.psql(
      "CREATE TABLE users (id int PRIMARY KEY, name text, email text); INSERT INTO users VALUES (1, 'ada', 'ada@example.com'), (2, 'linus', 'linus@example.com'), (3, 'grace', 'grace@example.com');" +
        "CREATE TABLE events (id serial PRIMARY KEY, note text); INSERT INTO events (note) VALUES ('a'), ('b'), ('c');" +
        `CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD}'; CREATE ROLE plain LOGIN PASSWORD '${PLAIN_PASSWORD}'; GRANT ALL ON ALL TABLES IN SCHEMA public TO app, plain; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO app;`,
      'shop',
    );
    const script = path.join(s.dir, 'bench.sql');
    fs.writeFileSync(script, PGBENCH_SCRIPT);
    const conn = ['-h', '127.0.0.1', '-p', String(s.port)];
    const capture = await startCapture({ trace_all_processes: true, ports: [s.port], poll_interval: '5ms' });
    let pgbenchOut = '';
    let python = '';
    let raw = '';
    let records: NetworkRecord[];
    try {
      await run('psql', [
        '-X', '-q', ...conn, '-U', 'postgres', '-d', 'shop',
        '-c', "SELECT name FROM users WHERE id = 1",
        '-c', 'SELECT 1; SELECT 2',
        '-c', "INSERT INTO events (note) VALUES ('psql-SECRET-note')",
        '-c', 'SELECT * FROM missing_table',
        '-c', 'COPY users TO STDOUT',
      ]).catch((e) => e); // the failing statement makes psql exit 1
      await run('psql', ['-X', '-q', ...conn, '-U', 'plain', '-d', 'shop', '-c', 'SELECT count(*) FROM users'], { env: { ...process.env, PGPASSWORD: PLAIN_PASSWORD } });
      python = (await run(SYSTEM_PYTHON, [path.join(__dirname, 'workload.py'), String(s.port)], { env: { ...process.env, APP_PASSWORD } })).stdout;
      raw = (await run(process.execPath, [path.join(__dirname, 'raw-client.js'), String(s.port), 'shop', 'postgres'])).stdout;
      pgbenchOut = (await run('pgbench', ['-n', '-t', String(PGBENCH_TRANSACTIONS), '-c', String(PGBENCH_CLIENTS), '-M', 'prepared', '-f', script, ...conn, '-U', 'postgres', 'shop'])).stdout;
      await sleep(300);
    } finally {
      records = await capture.stop();
    }
    const metrics = new ServiceMetrics();
    const messages = await runStages<L7Message>(records, [processor(parseFactory, {}, metrics)]);
    const spans = await runStages<Span>(records, [processor(parseFactory, {}), processor(threadCorrelationFactory, {}), processor(propagationFactory, {}), processor(spanBuilderFactory, {})]);
    const processed = /number of transactions actually processed: (\d+)\//.exec(pgbenchOut);
    const parseFailures = await metrics.total('espan_parse_failures_total');
    got = { records, messages, spans, parseFailures, pgbenchProcessed: processed ? Number(processed[1]) : -1, python: JSON.parse(python), raw: JSON.parse(raw) };
    console.log(`      captured ${records.length} records, ${messages.length} messages, ${spans.length} spans`);
  });

  after(() => server?.stop());

  /** Client-side messages of one program, and the server's messages on the same connections. */
  function ends(comm: string): { client: L7Message[]; server: L7Message[] } {
    const client = got.messages.filter((m) => m.protocol === 'postgresql' && m.role === 'client' && m.comm === comm);
    const ports = new Set(client.map((m) => m.sport));
    const server = got.messages.filter((m) => m.protocol === 'postgresql' && m.role === 'server' && ports.has(m.dport));
    return { client, server };
  }

  const psqlLines = [
    'Query | SELECT name FROM users WHERE id = ? | SELECT | 1 | - | ok',
    'Query | SELECT ?; SELECT ? | BATCH SELECT | 2 | - | ok',
    'Query | INSERT INTO events (note) VALUES (?) | INSERT | 1 | - | ok',
    'Query | SELECT * FROM missing_table | SELECT | - | 42P01 | error',
    'Query | COPY users TO STDOUT | COPY | 3 | - | ok',
    'Query | SELECT count(*) FROM users | SELECT | 1 | - | ok',
  ];

  it('gives each psql statement one message, from both ends, with its database, rows and errors', () => {
    const { client, server } = ends('psql');
    expect(client.map(line)).to.deep.equal(psqlLines);
    expect(server.map(line).sort()).to.deep.equal([...psqlLines].sort());
    for (const m of [...client, ...server]) expect(m.postgresql!.database).to.equal('shop');
    expect(client[1].postgresql).to.include({ batchSize: 2, summary: 'BATCH SELECT' });
    expect(client[3].postgresql!.errorMessage).to.equal('relation "missing_table" does not exist');
  });

  it('follows psycopg2 through SCRAM authentication, PREPARE/EXECUTE, a server-side cursor and a failed statement', () => {
    expect(got.python).to.deep.equal({ names: ['ada', 'ada', 'linus', 'grace'], ids: [1, 2, 3], error: '22012' });
    const expected = [
      'Query | BEGIN | BEGIN | - | - | ok',
      'Query | SELECT name FROM users WHERE email = ? | SELECT | 1 | - | ok',
      'Query | PREPARE by_id(int) AS SELECT name FROM users WHERE id = $1 | PREPARE | - | - | ok',
      ...[1, 2, 3].map(() => 'Query | EXECUTE by_id(?) | EXECUTE | 1 | - | ok'),
      'Query | DECLARE "all_users" CURSOR WITHOUT HOLD FOR SELECT id, name FROM users ORDER BY id | DECLARE | - | - | ok',
      // itersize 2 over three rows: 2, 1, then the empty fetch that ends the iteration
      'Query | FETCH FORWARD ? FROM "all_users" | FETCH | 2 | - | ok',
      'Query | FETCH FORWARD ? FROM "all_users" | FETCH | 1 | - | ok',
      'Query | FETCH FORWARD ? FROM "all_users" | FETCH | 0 | - | ok',
      'Query | CLOSE "all_users" | CLOSE | - | - | ok',
      'Query | COMMIT | COMMIT | - | - | ok',
      'Query | BEGIN | BEGIN | - | - | ok',
      'Query | SELECT ?/? | SELECT | - | 22012 | error',
      'Query | ROLLBACK | ROLLBACK | - | - | ok',
    ];
    const { client, server } = ends('python3');
    expect(client.map(line)).to.deep.equal(expected);
    expect(server.map(line)).to.deep.equal(expected);
  });

  it('keeps the text of a named statement executed three times in one pipeline (raw protocol client)', () => {
    expect(got.raw).to.deep.equal({ errors: ['42P01'] });
    const expected = [
      ...[1, 2, 3].map(() => 'Execute | SELECT name FROM users WHERE id = $1 | SELECT | 1 | - | ok'),
      'Execute | INSERT INTO events (note) VALUES ($1) | INSERT | 1 | - | ok',
      'Query | SELECT * FROM missing_table | SELECT | - | 42P01 | error',
    ];
    for (const side of [ends('node').client, ends('node').server]) {
      expect(side.map(line)).to.deep.equal(expected);
      expect(side.slice(0, 3).map((m) => m.postgresql!.statement)).to.deep.equal(['get_user', 'get_user', 'get_user']);
      // three Executes, three responses: each its own sequence numbers
      expect(new Set(side.slice(0, 3).map((m) => `${m.reqSeq}/${m.respSeq}`)).size).to.equal(3);
    }
    // both ends compute the same sequence numbers for the same bytes
    expect(ends('node').server.map((m) => [m.reqSeq, m.respSeq])).to.deep.equal(ends('node').client.map((m) => [m.reqSeq, m.respSeq]));
  });

  it('gives pgbench exactly one message per statement it ran', () => {
    expect(got.pgbenchProcessed).to.equal(PGBENCH_TRANSACTIONS * PGBENCH_CLIENTS);
    const statements = got.pgbenchProcessed * 2;
    for (const side of [ends('pgbench').client, ends('pgbench').server]) {
      expect(side).to.have.length(statements);
      expect(side.filter((m) => m.postgresql!.sql === 'SELECT name FROM users WHERE id = $1;' && m.postgresql!.rows === 1)).to.have.length(statements / 2);
      expect(side.filter((m) => m.postgresql!.sql === 'UPDATE events SET note = note WHERE id = $1;' && m.postgresql!.affectedRows === 1)).to.have.length(statements / 2);
      expect(side.every((m) => m.outcome === 'ok' && m.postgresql!.command === 'Execute')).to.equal(true);
    }
  });

  it('makes those messages and no others, with nothing counted as malformed', () => {
    const perEnd = 6 + 15 + 5 + got.pgbenchProcessed * 2;
    expect(got.messages.filter((m) => m.protocol === 'postgresql' && m.role === 'client')).to.have.length(perEnd);
    expect(got.messages.filter((m) => m.protocol === 'postgresql' && m.role === 'server')).to.have.length(perEnd);
    expect(got.messages).to.have.length(2 * perEnd);
    expect(got.parseFailures).to.equal(0);
  });

  it('never reads a password, a parameter value or a literal', () => {
    const wire = got.records.map((r) => Buffer.from(r.payload).toString('latin1')).join('');
    // the cleartext password and the literals were on the wire: the checks below can fail
    for (const s of [PLAIN_PASSWORD, 'psql-SECRET-note', 'raw-SECRET-note', 'ada@example.com']) expect(wire, s).to.include(s);
    for (const text of [jsonOf(got.messages), jsonOf(got.spans)]) {
      for (const s of [PLAIN_PASSWORD, APP_PASSWORD, 'SECRET', 'ada@example.com']) expect(text, s).to.not.include(s);
    }
  });

  it('makes spans per the database conventions', () => {
    const pg = got.spans.filter((s) => s.attributes['db.system.name'] === 'postgresql');
    expect(pg).to.have.length(got.messages.length);
    for (const s of pg) {
      expect(s.attributes).to.include({ 'db.namespace': 'shop', 'server.address': '127.0.0.1', 'server.port': server!.port, 'network.transport': 'tcp', 'network.type': 'ipv4' });
      expect(s.attributes['db.query.text']).to.be.a('string');
    }
    const byText = (text: string): Span[] => pg.filter((s) => s.attributes['db.query.text'] === text);
    const select = byText('SELECT name FROM users WHERE id = ?');
    expect(select).to.have.length(2); // psql's, from both ends
    for (const s of select) {
      expect(s.name).to.equal('SELECT users');
      expect(s.attributes).to.include({ 'db.operation.name': 'SELECT', 'db.query.summary': 'SELECT users', 'db.response.returned_rows': 1 });
      expect(s.status.code).to.equal(StatusCode.UNSET);
    }
    const missing = byText('SELECT * FROM missing_table');
    expect(missing).to.have.length(4); // psql and the raw client, both ends
    for (const s of missing) {
      expect(s.attributes).to.include({ 'db.response.status_code': '42P01', 'error.type': '42P01' });
      expect(s.status).to.deep.equal({ code: StatusCode.ERROR, message: 'relation ? does not exist' });
    }
    const batch = byText('SELECT ?; SELECT ?');
    expect(batch.map((s) => [s.name, s.attributes['db.operation.name'], s.attributes['db.operation.batch.size']])).to.deep.equal([
      ['BATCH SELECT', 'BATCH SELECT', 2],
      ['BATCH SELECT', 'BATCH SELECT', 2],
    ]);
    expect(byText('SELECT ?/?').every((s) => s.attributes['error.type'] === '22012' && s.status.code === StatusCode.ERROR)).to.equal(true);
  });
});

describe('postgresql over TLS (eBPF)', function () {
  this.timeout(120_000);
  let server: PostgresServer | undefined;

  interface TlsRun {
    records: NetworkRecord[];
    messages: L7Message[];
    failures: number;
  }

  /** One connection with sslmode=require and one with sslmode=disable, captured with the given receiver settings. */
  async function captureBoth(receiver: Record<string, unknown>): Promise<TlsRun> {
    const conn = ['-X', '-q', '-h', '127.0.0.1', '-p', String(server!.port), '-U', 'postgres', '-d', 'postgres'];
    const capture = await startCapture({ trace_all_processes: true, ports: [server!.port], poll_interval: '5ms', ...receiver });
    let records: NetworkRecord[];
    try {
      await run('psql', [...conn, '-c', "SELECT 'over-tls-SECRET'"], { env: { ...process.env, PGSSLMODE: 'require' } });
      await run('psql', [...conn, '-c', 'SELECT 2'], { env: { ...process.env, PGSSLMODE: 'disable' } });
      await sleep(300);
    } finally {
      records = await capture.stop();
    }
    const metrics = new ServiceMetrics();
    const messages = await runStages<L7Message>(records, [processor(parseFactory, {}, metrics)]);
    return { records, messages, failures: await metrics.total('espan_parse_failures_total') };
  }

  const sslRequest = Buffer.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]);
  const lines = (ms: L7Message[]): string[] => ms.map((m) => `${m.role} ${m.postgresql!.sql} ${m.outcome} ${(m.connMeta & ConnMeta.TLS) !== 0 ? 'tls' : 'plain'}`).sort();

  before(async function () {
    const why = postgresUnavailable() ?? ebpfUnavailable();
    if (why) {
      console.log(`      skipping the PostgreSQL TLS tests: ${why}`);
      this.skip();
    }
    server = await startPostgres({ tls: true });
  });

  after(() => server?.stop());

  it('parses the plaintext the probe takes in the TLS library after an SSLRequest answered S', async () => {
    const r = await captureBoth({});
    expect(r.records.some((x) => Buffer.from(x.payload).equals(sslRequest))).to.equal(true);
    expect(lines(r.messages)).to.deep.equal(['client SELECT ? ok plain', 'client SELECT ? ok tls', 'server SELECT ? ok plain', 'server SELECT ? ok tls']);
    expect(jsonOf(r.messages.map((m) => m.postgresql))).to.not.include('SECRET');
    expect(r.failures).to.equal(0);
  });

  it('stops parsing at the TLS records themselves when their plaintext is not taken', async () => {
    const r = await captureBoth({ tls: { enabled: false } });
    expect(r.records.some((x) => Buffer.from(x.payload).equals(sslRequest))).to.equal(true);
    // the handshake went by as TLS records
    expect(r.records.some((x) => x.payload[0] === 0x16 && x.payload[1] === 3)).to.equal(true);
    expect(lines(r.messages)).to.deep.equal(['client SELECT ? ok plain', 'server SELECT ? ok plain']);
    expect(r.failures).to.equal(0);
  });
});
