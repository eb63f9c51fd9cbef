import { expect } from 'chai';
import fc from 'fast-check';
import { sanitizeSql } from '../../../core/redaction';
import type { L7Message, NetworkRecord } from '../../../core/signals';
import { Conversation, clientRecords, cut, defaultSettings, insertNoise } from '../../../test/helpers/parse';
import { be, fe, startupAnswer } from '../../../test/postgresql/messages';
import { detect } from '../detect';
import { ParseEngine, type ParseCounters, type ParseSettings } from '../processor';
import { looksLikeAnswerStart, looksLikeFrontendQuery, looksLikeStartup, parseCommandTag, parseErrorFields, parseStartupParameters } from './parser';
import { splitStatements } from './session';

const settings = (over: Partial<ParseSettings> = {}): ParseSettings => defaultSettings({ protocols: ['http', 'redis', 'mysql', 'postgresql'], ...over });

/** A client's conversation: each step's request bytes written, then its response bytes read. */
function run(steps: Array<[Buffer, Buffer?]>, over: Partial<ParseSettings> = {}, counters?: ParseCounters): L7Message[] {
  const c = new Conversation('cd'.repeat(16));
  for (const [req, resp] of steps) {
    c.write(req);
    if (resp?.length) c.read(resp);
  }
  c.close();
  const e = new ParseEngine(settings(over), counters);
  return [...e.add(c.records, 0), ...e.flush()];
}

const line = (m: L7Message): unknown[] => {
  const p = m.postgresql!;
  return [p.command, p.sql, p.operation, p.rows ?? p.affectedRows, p.sqlState, m.outcome];
};

const opened: Array<[Buffer, Buffer?]> = [[fe.startup({ user: 'app', database: 'shop', application_name: 'psql' }), startupAnswer()]];

describe('postgresql sanitizer', () => {
  const cases: Array<[string, string, string]> = [
    ["SELECT * FROM users WHERE name = 'o''brien' AND id = $1", 'SELECT * FROM users WHERE name = ? AND id = $1', 'SELECT users'],
    // standard strings: a backslash is a character, not an escape, so the next quote ends the string
    ["SELECT 'C:\\' , 'secret'", 'SELECT ?, ?', 'SELECT'],
    ["SELECT E'it\\'s secret' FROM t", 'SELECT ? FROM t', 'SELECT t'],
    ['SELECT $$a secret; with $1$$, $fn$ body $$ secret $fn$ FROM "Order Items"', 'SELECT ?, ? FROM "Order Items"', 'SELECT Order Items'],
    ['SELECT 1--secret\n, a FROM t /* outer /* inner */ secret */ WHERE b = 2::int', 'SELECT ?, a FROM t WHERE b = ?::int', 'SELECT t'],
    ["UPDATE public.accounts SET flags = flags # 4, note = U&'d\\0061t' WHERE id = 7", 'UPDATE public.accounts SET flags = flags # ?, note = U&? WHERE id = ?', 'UPDATE public.accounts'],
    ["INSERT INTO \"shop\".\"orders\" (a) VALUES (B'0101'), (X'ff')", 'INSERT INTO "shop"."orders" (a) VALUES (?), (?)', 'INSERT shop.orders'],
  ];
  for (const [sql, want, summary] of cases) {
    it(`sanitises ${JSON.stringify(sql.slice(0, 40))}`, () => {
      const s = sanitizeSql(sql, 2048, false, 'postgresql');
      expect(s.sql).to.equal(want);
      expect(s.summary).to.equal(summary);
      expect(s.sql).not.to.include('secret');
    });
  }
  it('splits sanitised text into statements at semicolons outside quoted identifiers', () => {
    expect(splitStatements('SELECT ?; UPDATE "a;b" SET c = ?;')).to.deep.equal(['SELECT ?', 'UPDATE "a;b" SET c = ?']);
  });
});

describe('postgresql parser', () => {
  it('recognises startup packets and queries, and nothing of the other protocols', () => {
    const enabled = new Set(['http', 'redis', 'mysql', 'postgresql'] as const);
    for (const b of [fe.startup({ user: 'app' }), fe.sslRequest(), fe.query('SELECT 1'), fe.parse('', 'SELECT $1'), fe.query('x'.repeat(17))]) {
      expect(detect(b, enabled)?.protocol, b.toString('latin1')).to.equal('postgresql');
    }
    expect(looksLikeStartup(fe.startup({ user: 'app' }), 0, 30)).to.equal(true);
    expect(looksLikeFrontendQuery(fe.query('SELECT 1'), 0, 14)).to.equal(true);
    expect(looksLikeFrontendQuery(fe.sync(), 0, 5)).to.equal(false);
    // a MySQL COM_QUERY and a Redis command stay theirs
    const mysqlQuery = Buffer.concat([Buffer.from([9, 0, 0, 0, 3]), Buffer.from('SELECT 1')]);
    expect(detect(mysqlQuery, enabled)?.protocol).to.equal('mysql');
    expect(detect(Buffer.from('*1\r\n$4\r\nPING\r\n'), enabled)?.protocol).to.equal('redis');
    expect(detect(Buffer.from('QUIT\r\n'), enabled)?.protocol).to.not.equal('postgresql');
  });

  it('reads the startup database and user, tags and error fields', () => {
    const s = fe.startup({ user: 'app', database: 'shop', options: '-c x=1' });
    expect(parseStartupParameters(s, 8, s.length)).to.deep.equal({ user: 'app', database: 'shop' });
    expect(parseCommandTag('INSERT 0 5')).to.deep.equal({ command: 'INSERT', rows: 5 });
    expect(parseCommandTag('SELECT 3')).to.deep.equal({ command: 'SELECT', rows: 3 });
    expect(parseCommandTag('CREATE TABLE')).to.deep.equal({ command: 'CREATE TABLE' });
    const e = be.error('23505', 'duplicate key value violates unique constraint "users_pkey"', 'Key (id)=(1) already exists.');
    expect(parseErrorFields(e, 5, e.length)).to.deep.equal({ severity: 'ERROR', sqlState: '23505', message: 'duplicate key value violates unique constraint "users_pkey"' });
  });

  it('passes over startup and password authentication without reading the password', () => {
    const ms = run([
      [fe.startup({ user: 'app', database: 'shop' }), be.authMd5(Buffer.from('salt'))],
      [fe.password('md5-SECRET-hash'), startupAnswer()],
      [fe.query("SELECT name FROM users WHERE id = 1"), Buffer.concat([be.rowDescription('name'), be.dataRow('ada'), be.commandComplete('SELECT 1'), be.ready()])],
    ]);
    expect(ms.map(line)).to.deep.equal([['Query', 'SELECT name FROM users WHERE id = ?', 'SELECT', 1, undefined, 'ok']]);
    expect(ms[0].postgresql!.database).to.equal('shop');
    expect(JSON.stringify(ms.map((m) => m.postgresql))).to.not.include('SECRET');
  });

  it('takes the user as the database when none is named, and follows an SSLRequest answered N', () => {
    const ms = run([[fe.sslRequest(), Buffer.from('N')], [fe.startup({ user: 'alice' }), startupAnswer()], [fe.query('SELECT 1'), Buffer.concat([be.rowDescription('x'), be.dataRow('1'), be.commandComplete('SELECT 1'), be.ready()])]]);
    expect(ms.map((m) => [m.postgresql!.database, m.postgresql!.operation])).to.deep.equal([['alice', 'SELECT']]);
  });

  it('after an SSLRequest answered S, parses the TLS plaintext, and stops at TLS records themselves', () => {
    const plaintext = run([[fe.sslRequest(), Buffer.from('S')], [fe.startup({ user: 'app', database: 'shop' }), startupAnswer()], [fe.query('SELECT 1'), Buffer.concat([be.commandComplete('SELECT 0'), be.ready()])]]);
    expect(plaintext.map(line)).to.deep.equal([['Query', 'SELECT ?', 'SELECT', 0, undefined, 'ok']]);
    const ciphertext = run([[fe.sslRequest(), Buffer.from('S')], [Buffer.from([0x16, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3]), Buffer.from([0x16, 3, 3, 0, 90, 2])], [fe.query('SELECT 1'), be.ready()]]);
    expect(ciphertext).to.deep.equal([]);
    const gssapi = run([[Buffer.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x30]), Buffer.from('G')], [fe.query('SELECT 1'), be.ready()]]);
    expect(gssapi).to.deep.equal([]);
  });

  it('pairs simple queries: rows, tags, errors, empty queries, several statements as a batch', () => {
    const ms = run([
      ...opened,
      [fe.query("UPDATE accounts SET balance = 0 WHERE owner = 'x'"), Buffer.concat([be.commandComplete('UPDATE 3'), be.ready()])],
      [fe.query('SELECT * FROM nope'), Buffer.concat([be.error('42P01', 'relation "nope" does not exist'), be.ready()])],
      [fe.query(''), Buffer.concat([be.emptyQuery(), be.ready()])],
      [fe.query('SELECT 1; SELECT 2'), Buffer.concat([be.rowDescription('a'), be.dataRow('1'), be.commandComplete('SELECT 1'), be.rowDescription('b'), be.dataRow('2'), be.commandComplete('SELECT 1'), be.ready()])],
      [fe.query('BEGIN; INSERT INTO t VALUES (1); COMMIT'), Buffer.concat([be.commandComplete('BEGIN'), be.commandComplete('INSERT 0 1'), be.commandComplete('COMMIT'), be.ready()])],
      [fe.query('SET application_name = 1'), Buffer.concat([be.parameterStatus('application_name', '1'), be.commandComplete('SET'), be.ready()])],
    ]);
    expect(ms.map(line)).to.deep.equal([
      ['Query', 'UPDATE accounts SET balance = ? WHERE owner = ?', 'UPDATE', 3, undefined, 'ok'],
      ['Query', 'SELECT * FROM nope', 'SELECT', undefined, '42P01', 'error'],
      ['Query', '', undefined, undefined, undefined, 'ok'],
      ['Query', 'SELECT ?; SELECT ?', 'BATCH SELECT', 2, undefined, 'ok'],
      ['Query', 'BEGIN; INSERT INTO t VALUES (?); COMMIT', 'BATCH', 1, undefined, 'ok'],
      ['Query', 'SET application_name = ?', 'SET', undefined, undefined, 'ok'],
    ]);
    expect(ms[3].postgresql).to.include({ batchSize: 2, summary: 'BATCH SELECT' });
    expect(ms[4].postgresql).to.include({ batchSize: 3, summary: 'BATCH', commandTag: 'COMMIT' });
    expect(ms[1].postgresql!.errorMessage).to.equal('relation "nope" does not exist');
  });

  it('keeps the text of a statement prepared once and executed many times, pipelined', () => {
    const ms = run([
      ...opened,
      [Buffer.concat([fe.parse('get_user', 'SELECT name FROM users WHERE id = $1', [23]), fe.describe('S', 'get_user'), fe.sync()]), Buffer.concat([be.parseComplete(), be.parameterDescription(23), be.rowDescription('name'), be.ready()])],
      [
        Buffer.concat([fe.bind('', 'get_user', ['1']), fe.execute(), fe.bind('', 'get_user', ['SECRET-2']), fe.execute(), fe.bind('', 'get_user', ['3']), fe.execute(), fe.sync()]),
        Buffer.concat([be.bindComplete(), be.dataRow('ada'), be.commandComplete('SELECT 1'), be.bindComplete(), be.commandComplete('SELECT 0'), be.bindComplete(), be.dataRow('x'), be.commandComplete('SELECT 1'), be.ready()]),
      ],
      [Buffer.concat([fe.parse('', "INSERT INTO t VALUES ($1, 'lit')"), fe.bind('', ''), fe.describe('P', ''), fe.execute(), fe.sync()]), Buffer.concat([be.parseComplete(), be.bindComplete(), be.noData(), be.commandComplete('INSERT 0 1'), be.ready()])],
      [Buffer.concat([fe.close('S', 'get_user'), fe.sync()]), Buffer.concat([be.closeComplete(), be.ready()])],
      [Buffer.concat([fe.bind('', 'get_user', ['1']), fe.execute(), fe.sync()]), Buffer.concat([be.error('26000', 'prepared statement "get_user" does not exist'), be.ready('I')])],
    ]);
    expect(ms.map(line)).to.deep.equal([
      ['Execute', 'SELECT name FROM users WHERE id = $1', 'SELECT', 1, undefined, 'ok'],
      ['Execute', 'SELECT name FROM users WHERE id = $1', 'SELECT', 0, undefined, 'ok'],
      ['Execute', 'SELECT name FROM users WHERE id = $1', 'SELECT', 1, undefined, 'ok'],
      ['Execute', 'INSERT INTO t VALUES ($1, ?)', 'INSERT', 1, undefined, 'ok'],
      // closed: the statement's text is no longer known
      ['Execute', undefined, undefined, undefined, '26000', 'error'],
    ]);
    expect(ms.slice(0, 3).map((m) => m.postgresql!.statement)).to.deep.equal(['get_user', 'get_user', 'get_user']);
    expect(JSON.stringify(ms.map((m) => m.postgresql))).to.not.include('SECRET');
    // each Execute has its own response: the sequence numbers differ
    expect(new Set(ms.slice(0, 3).map((m) => m.respSeq)).size).to.equal(3);
  });

  it('reports the Executes a server skipped after an error in a pipeline, and a failed prepare', () => {
    const ms = run([
      ...opened,
      [
        Buffer.concat([fe.parse('', 'SELECT 1/0'), fe.bind('', ''), fe.execute(), fe.parse('', 'SELECT 2'), fe.bind('', ''), fe.execute(), fe.sync()]),
        Buffer.concat([be.parseComplete(), be.bindComplete(), be.error('22012', 'division by zero'), be.ready()]),
      ],
      [Buffer.concat([fe.parse('bad', 'SELEC 1'), fe.sync()]), Buffer.concat([be.error('42601', 'syntax error at or near "SELEC"'), be.ready()])],
      [fe.query('SELECT 3'), Buffer.concat([be.rowDescription('x'), be.dataRow('3'), be.commandComplete('SELECT 1'), be.ready()])],
    ]);
    expect(ms.map(line)).to.deep.equal([
      ['Execute', 'SELECT ?/?', 'SELECT', undefined, '22012', 'error'],
      ['Execute', 'SELECT ?', 'SELECT', undefined, undefined, 'no_response'],
      ['Parse', 'SELEC ?', 'SELEC', undefined, '42601', 'error'],
      ['Query', 'SELECT ?', 'SELECT', 1, undefined, 'ok'],
    ]);
  });

  it('counts COPY in and out without losing step, and sets notices and notifications aside', () => {
    const ms = run([
      ...opened,
      [fe.query('COPY t FROM STDIN'), be.copyIn()],
      [Buffer.concat([fe.copyData('1\tsecret-a\n'), fe.copyData('2\tb\n'), fe.copyDone()]), Buffer.concat([be.commandComplete('COPY 2'), be.ready()])],
      [fe.query('COPY t TO STDOUT'), Buffer.concat([be.copyOut(), be.copyData('1\ta\n'), be.copyData('2\tb\n'), be.copyDone(), be.commandComplete('COPY 2'), be.ready()])],
      [fe.query('LISTEN jobs'), Buffer.concat([be.commandComplete('LISTEN'), be.ready(), be.notification(99, 'jobs', 'payload'), be.notice('hello')])],
      [fe.query('COPY t FROM STDIN'), be.copyIn()],
      [fe.copyFail('client gave up'), Buffer.concat([be.error('57014', 'COPY from stdin failed: client gave up'), be.ready()])],
      [fe.query('SELECT 1'), Buffer.concat([be.notice('before'), be.rowDescription('x'), be.dataRow('1'), be.commandComplete('SELECT 1'), be.ready()])],
    ]);
    expect(ms.map(line)).to.deep.equal([
      ['Query', 'COPY t FROM STDIN', 'COPY', 2, undefined, 'ok'],
      ['Query', 'COPY t TO STDOUT', 'COPY', 2, undefined, 'ok'],
      ['Query', 'LISTEN jobs', 'LISTEN', undefined, undefined, 'ok'],
      ['Query', 'COPY t FROM STDIN', 'COPY', undefined, '57014', 'error'],
      ['Query', 'SELECT ?', 'SELECT', 1, undefined, 'ok'],
    ]);
    expect(JSON.stringify(ms.map((m) => m.postgresql))).to.not.include('secret-a');
  });

  it('picks a connection up mid-stream at a query, and bounds the statements it remembers', () => {
    const mid = run([[fe.query('SELECT 1'), Buffer.concat([be.rowDescription('x'), be.dataRow('1'), be.commandComplete('SELECT 1'), be.ready()])]]);
    expect(mid.map(line)).to.deep.equal([['Query', 'SELECT ?', 'SELECT', 1, undefined, 'ok']]);
    const steps: Array<[Buffer, Buffer?]> = [...opened];
    for (let i = 0; i < 3; i++) steps.push([Buffer.concat([fe.parse(`s${i}`, `SELECT ${i} FROM t${i}`), fe.sync()]), Buffer.concat([be.parseComplete(), be.ready()])]);
    for (const i of [0, 2]) steps.push([Buffer.concat([fe.bind('', `s${i}`), fe.execute(), fe.sync()]), Buffer.concat([be.bindComplete(), be.commandComplete('SELECT 0'), be.ready()])]);
    const ms = run(steps, { postgresql: { maxSqlLength: 2048, maxStatements: 2 } });
    expect(ms.map((m) => m.postgresql!.summary)).to.deep.equal([undefined, 'SELECT t2']);
  });

  it('joined mid-stream, takes a response up at whatever can begin an answer, DataRow aside', () => {
    const starts = [
      be.rowDescription('a', 'b'),
      be.rowDescription(),
      be.parameterDescription(23, 25),
      be.emptyQuery(),
      be.error('42P01', 'no such table'),
      be.notice('skipping'),
      be.copyIn(),
      be.copyOut(),
      be.commandComplete('SELECT 1'),
      be.ready(),
      be.parseComplete(),
      be.bindComplete(),
      be.closeComplete(),
      be.noData(),
    ];
    for (const m of starts) expect(looksLikeAnswerStart(m, 0, m.length), m.toString('latin1')).to.equal(true);
    for (const m of [be.dataRow('1'), be.portalSuspended(), be.parameterStatus('a', 'b'), be.dataRow('x'.repeat(40)).subarray(6)]) expect(looksLikeAnswerStart(m, 0, m.length)).to.equal(false);

    // the first response seen begins with a RowDescription: it answers the query before it
    const rows = (n: number): Buffer => Buffer.concat([be.rowDescription('v'), ...Array.from({ length: n }, (_, i) => be.dataRow(String(i))), be.commandComplete(`SELECT ${n}`), be.ready()]);
    const c = new Conversation('ab'.repeat(16), 'unknown');
    c.write(fe.query('SELECT v FROM t'));
    c.read(rows(2));
    c.write(fe.query('SELECT v FROM u'));
    c.read(Buffer.concat([be.error('42P01', 'no such table'), be.ready()]));
    const ms = [...new ParseEngine(settings()).add(c.records, 0)];
    expect(ms.map(line)).to.deep.equal([
      ['Query', 'SELECT v FROM t', 'SELECT', 2, undefined, 'ok'],
      ['Query', 'SELECT v FROM u', 'SELECT', undefined, '42P01', 'error'],
    ]);
  });

  it('joined mid-stream inside a DataRow: five bytes there that read as a MySQL COM_PING, COM_STATISTICS or COM_INIT_DB header do not make it MySQL', () => {
    // from a one-column DataRow's seventh byte: 01 00 00 00 0e (or 09), a MySQL packet of one byte, sequence 0;
    // from a value's last byte: 37 00 00 00 02, the header of a COM_INIT_DB of 55 bytes
    const fragments = [be.dataRow('x'.repeat(14)).subarray(6), be.dataRow('x'.repeat(9)).subarray(6), be.dataRow('abc7', '42').subarray(14)];
    for (const start of fragments) {
      const fragment = Buffer.concat([start, be.dataRow('1'), be.commandComplete('SELECT 2'), be.ready()]);
      expect(detect(fragment, new Set(settings().protocols))).to.equal(undefined);
      const c = new Conversation('ac'.repeat(16), 'unknown');
      c.read(fragment);
      c.write(fe.query('UPDATE t SET v = 1'));
      c.read(Buffer.concat([be.commandComplete('UPDATE 1'), be.ready()]));
      const ms = [...new ParseEngine(settings()).add(c.records, 0)];
      expect(ms.map((m) => m.protocol)).to.deep.equal(['postgresql']);
      expect(ms.map(line)).to.deep.equal([['Query', 'UPDATE t SET v = ?', 'UPDATE', 1, undefined, 'ok']]);
    }
  });

  it('emits unanswered requests as no_response when the connection closes', () => {
    const ms = run([...opened, [fe.query('SELECT pg_sleep(10)')]]);
    expect(ms.map(line)).to.deep.equal([['Query', 'SELECT pg_sleep(?)', 'SELECT', undefined, undefined, 'no_response']]);
  });
});

// ---- properties

type Exchange =
  | { kind: 'simple'; sql: string; reply: 'rows' | 'tag' | 'error'; rows: number }
  | { kind: 'prepared'; sql: string; times: number }
  | { kind: 'copy'; lines: number };

const sqlText = fc.constantFrom("SELECT a FROM t WHERE b = 'x'", 'UPDATE t SET a = 1', 'DELETE FROM t', 'SELECT $1::int', "INSERT INTO t VALUES (1, E'y\\'')");
const exchange: fc.Arbitrary<Exchange> = fc.oneof(
  fc.record({ kind: fc.constant('simple' as const), sql: sqlText, reply: fc.constantFrom('rows' as const, 'tag' as const, 'error' as const), rows: fc.nat(3) }),
  fc.record({ kind: fc.constant('prepared' as const), sql: sqlText, times: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('copy' as const), lines: fc.nat(3) }),
);

interface Serialised {
  /** request and response bytes of each round trip */
  trips: Array<[Buffer, Buffer]>;
  expected: string[];
}

function serialise(xs: Exchange[]): Serialised {
  const trips: Array<[Buffer, Buffer]> = [[fe.startup({ user: 'app', database: 'shop' }), startupAnswer()]];
  const expected: string[] = [];
  xs.forEach((x, i) => {
    if (x.kind === 'simple') {
      const rows = Array.from({ length: x.rows }, (_, r) => be.dataRow(String(r)));
      const reply =
        x.reply === 'error' ? [be.error('42601', 'syntax error')] : x.reply === 'rows' ? [be.rowDescription('a'), ...rows, be.commandComplete(`SELECT ${x.rows}`)] : [be.commandComplete('UPDATE 1')];
      trips.push([fe.query(x.sql), Buffer.concat([...reply, be.notice('n'), be.ready()])]);
      const summary = sanitizeSql(x.sql, 2048, false, 'postgresql').summary;
      expected.push(`Query ${summary} ${x.reply === 'error' ? 'error' : 'ok'} ${x.reply === 'rows' ? x.rows : '-'}`);
    } else if (x.kind === 'prepared') {
      const name = `st${i}`;
      trips.push([Buffer.concat([fe.parse(name, x.sql), fe.sync()]), Buffer.concat([be.parseComplete(), be.ready()])]);
      const req: Buffer[] = [];
      const resp: Buffer[] = [];
      for (let k = 0; k < x.times; k++) {
        req.push(fe.bind('', name, [String(k)]), fe.execute());
        resp.push(be.bindComplete(), be.dataRow('v'), be.commandComplete('SELECT 1'));
        expected.push(`Execute ${sanitizeSql(x.sql, 2048, false, 'postgresql').summary} ok 1`);
      }
      trips.push([Buffer.concat([...req, fe.sync()]), Buffer.concat([...resp, be.ready()])]);
    } else {
      trips.push([fe.query('COPY t FROM STDIN'), be.copyIn()]);
      const lines = Array.from({ length: x.lines }, (_, k) => fe.copyData(`${k}\tv\n`));
      trips.push([Buffer.concat([...lines, fe.copyDone()]), Buffer.concat([be.commandComplete(`COPY ${x.lines}`), be.ready(), be.notification(1, 'c', 'p')])]);
      expected.push('Query COPY t ok -');
      expect(sanitizeSql('COPY t FROM STDIN').summary).to.equal('COPY t');
    }
  });
  return { trips, expected };
}

const summary = (ms: L7Message[]): string[] => ms.map((m) => `${m.postgresql!.command} ${m.postgresql!.summary} ${m.outcome} ${m.postgresql!.rows ?? '-'}`);

/** Records of the round trips, each direction's bytes cut at the given points. */
function records(trips: Array<[Buffer, Buffer]>, requestCuts: number[], responseCuts: number[]): NetworkRecord[] {
  const c = new Conversation('ef'.repeat(16));
  for (const [req, resp] of trips) {
    for (const piece of cut(req, requestCuts)) c.write(piece);
    for (const piece of cut(resp, responseCuts)) c.read(piece);
  }
  c.close();
  return c.records;
}

describe('postgresql parser properties', function () {
  // 100k cases: seconds on an idle core, more on a busy shared machine
  this.timeout(240000);
  it('any cut of a valid conversation into reads gives the same messages', () => {
    fc.assert(
      fc.property(fc.array(exchange, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (xs, rc, sc) => {
        const { trips, expected } = serialise(xs);
        const whole = new ParseEngine(settings());
        const wholeOut = [...whole.add(records(trips, [], []), 0), ...whole.flush()];
        const pieces = new ParseEngine(settings());
        const piecesOut = [...pieces.add(records(trips, rc, sc), 0), ...pieces.flush()];
        expect(summary(wholeOut)).to.deep.equal(expected);
        expect(summary(piecesOut)).to.deep.equal(expected);
        expect(piecesOut.map((m) => [m.reqSeq, m.respSeq])).to.deep.equal(wholeOut.map((m) => [m.reqSeq, m.respSeq]));
      }),
      { numRuns: 10000 },
    );
  });

  it('random and mutated bytes never throw and are counted', () => {
    const pool = fc.sample(fc.array(exchange, { minLength: 1, maxLength: 3 }), { numRuns: 64, seed: 7 }).map((xs) => {
      const { trips } = serialise(xs);
      return { req: Buffer.concat(trips.map((t) => t[0])), resp: Buffer.concat(trips.map((t) => t[1])) };
    });
    const failures = { v: 0 };
    const counters: ParseCounters = { messages: () => {}, failures: (_p, _r, k) => (failures.v += k), undetected: () => {}, evictedConnections: () => {}, connections: () => {} };
    fc.assert(
      fc.property(fc.nat(63), fc.uint8Array({ maxLength: 16 }), fc.nat(), fc.nat(), fc.boolean(), (i, noise, where, cutAt, inRequest) => {
        const { req, resp } = pool[i];
        const target = inRequest ? req : resp;
        const mutated = insertNoise(target, noise, where);
        const e = new ParseEngine(settings(), counters);
        e.add(inRequest ? clientRecords(cut(mutated, [cutAt]), [resp]) : clientRecords([req], cut(mutated, [cutAt])), 0);
        e.flush();
      }),
      { numRuns: 100000 },
    );
    expect(failures.v).to.be.greaterThan(0);
  });
});
