/**
 * MySQL as real clients speak it, against Debian's mariadbd started here:
 * mysqlslap (its query count must equal the messages), Python PyMySQL, and
 * the mariadb command-line client with and without the compressed protocol.
 * A TCP relay in front of the server writes down every chunk each side sends,
 * as a probe on the client would see them (one record per read or write);
 * the parse engine then reads the records. The same conversations, taken up
 * at every record after their start, check that a connection picked up
 * mid-stream never gives a message that the whole conversation does not.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import { promisify } from 'node:util';
import type { L7Message, NetworkRecord } from '../../core/signals';
import { ParseEngine } from '../../processors/parse/processor';
import { Conversation, defaultSettings, parseTally } from '../helpers/parse';
import { freePort, missingPrograms, startMariadb, type MariadbServer } from '../helpers/servers';
import { ebpfUnavailable, startCapture } from '../ebpf/harness';

const run = promisify(execFile);
const SYSTEM_PYTHON = '/usr/bin/python3';

interface Relay {
  port: number;
  /** the records of every connection relayed so far, one conversation each */
  conversations(): NetworkRecord[][];
  close(): Promise<void>;
}

/**
 * A TCP relay to `target` that records what each side sends, from the
 * client's side; `captureLimit`: bytes kept of each chunk, as the probe keeps
 * the first 4096 of each call (the rest moved but not seen).
 */
async function startRelay(target: number, captureLimit = Infinity): Promise<Relay> {
  const port = await freePort();
  const all: Conversation[] = [];
  const server = net.createServer((client) => {
    const conv = new Conversation((all.length + 1).toString(16).padStart(32, '0'));
    all.push(conv);
    const upstream = net.connect(target, '127.0.0.1');
    client.on('data', (d) => {
      conv.write(Buffer.from(d), Math.min(d.length, captureLimit));
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      conv.read(Buffer.from(d), Math.min(d.length, captureLimit));
      client.write(d);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    conversations: () =>
      all.map((c) => {
        c.close();
        return c.records;
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Parsed {
  messages: L7Message[];
  failures: Record<string, number>;
}

function parse(records: NetworkRecord[]): Parsed {
  const tally = parseTally();
  const engine = new ParseEngine(defaultSettings(), tally.counters);
  return { messages: [...engine.add(records, 0), ...engine.flush()], failures: tally.failures };
}

const line = (m: L7Message): string => {
  const q = m.mysql!;
  return [q.command, q.database ?? '-', q.sql ?? '-', q.rows ?? q.affectedRows ?? '-', q.errorCode ?? '', m.outcome].join(' | ');
};

/**
 * A conversation taken up at each of its records: what comes out is the tail
 * of what the whole conversation gives (never a message it does not), except
 * that the database may be unknown until a command names one (the handshake
 * named it).
 */
function checkPickedUpAnywhere(records: NetworkRecord[]): number {
  const whole = parse(records).messages;
  let checked = 0;
  for (let k = 1; k < records.length - 1; k++) {
    const got = parse(records.slice(k)).messages;
    const tail = whole.slice(whole.length - got.length);
    const unknownDb = got.map((m, i) => (m.mysql!.database === undefined ? { ...m, mysql: { ...m.mysql!, database: tail[i].mysql!.database } } : m));
    expect(unknownDb.map(line), `taken up at record ${k} of ${records.length}`).to.deep.equal(tail.map(line));
    checked++;
  }
  return checked;
}

describe('mysql: real clients against mariadbd', function () {
  this.timeout(180_000);
  let db: MariadbServer | undefined;
  let relay: Relay | undefined;
  const missing = missingPrograms('mariadbd', 'mariadb-install-db', 'mariadb', 'mysqlslap', SYSTEM_PYTHON);

  before(async function () {
    if (missing.length) {
      console.log(`      skipped: missing ${missing.join(', ')} (Debian mariadb-server, mariadb-client, python3-pymysql)`);
      this.skip();
    }
    db = await startMariadb();
  });
  after(async () => {
    await relay?.close();
    await db?.stop();
  });
  beforeEach(async () => {
    relay = await startRelay(db!.port);
  });
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  const cli = (args: string[]): Promise<{ stdout: string }> => run('mariadb', ['-h127.0.0.1', `-P${relay!.port}`, `-u${db!.user}`, `-p${db!.password}`, ...args]);

  for (const compress of [false, true]) {
    const name = compress ? 'compressed' : 'uncompressed';

    it(`mysqlslap (${name}): one message per query it sends, every one answered`, async () => {
      const queries = 60;
      await run('mysqlslap', [
        '-h127.0.0.1',
        `-P${relay!.port}`,
        `-u${db!.user}`,
        `-p${db!.password}`,
        '--create-schema=shop',
        '--no-drop',
        '--concurrency=3',
        '--iterations=1',
        `--number-of-queries=${queries}`,
        '--query=SELECT name FROM users WHERE id = 2',
        ...(compress ? ['--compress'] : []),
      ]);
      await new Promise((r) => setTimeout(r, 100));
      const conversations = relay!.conversations();
      const parsed = conversations.map((records) => parse(records));
      const messages = parsed.flatMap((p) => p.messages);
      const selects = messages.filter((m) => m.mysql!.sql === 'SELECT name FROM users WHERE id = ?');
      expect(selects).to.have.length(queries);
      expect(selects.every((m) => m.outcome === 'ok' && m.mysql!.rows === 1 && m.mysql!.database === 'shop')).to.equal(true);
      expect(messages.filter((m) => m.outcome !== 'ok').map(line)).to.deep.equal([]);
      expect(parsed.map((p) => p.failures)).to.deep.equal(conversations.map(() => ({})));
    });

    it(`the mariadb client (${name}): statements, a result over several packets, an error, USE, QUIT`, async () => {
      const sql = [
        "SELECT name FROM users WHERE email LIKE '%example.com' ORDER BY id",
        "INSERT INTO users VALUES (10, 'ken', 'ken@example.com')",
        // 2000 rows of 200 bytes: far more than one compressed packet, and many packets in each
        "SELECT seq, REPEAT('x', 200) FROM seq_1_to_2000",
        'SELECT * FROM nope',
      ];
      await cli([...(compress ? ['--compress'] : []), '--force', 'shop', '-e', sql.join('; ')]).catch(() => undefined);
      await cli([...(compress ? ['--compress'] : []), '-e', "USE shop; DELETE FROM users WHERE name = 'ken'"]);
      await new Promise((r) => setTimeout(r, 100));
      const conversations = relay!.conversations();
      const parsed = conversations.map((records) => parse(records));
      expect(parsed.flatMap((p) => p.messages).map(line)).to.deep.equal([
        'COM_QUERY | shop | SELECT name FROM users WHERE email LIKE ? ORDER BY id | 3 |  | ok',
        'COM_QUERY | shop | INSERT INTO users VALUES (?, ?, ?) | 1 |  | ok',
        'COM_QUERY | shop | SELECT seq, REPEAT(?, ?) FROM seq_1_to_2000 | 2000 |  | ok',
        "COM_QUERY | shop | SELECT * FROM nope | - | 1146 | error",
        'COM_QUIT | shop | - | - |  | ok',
        // the client reads USE itself: it asks for the current database, then sends COM_INIT_DB
        'COM_QUERY | - | SELECT DATABASE() | 1 |  | ok',
        'COM_INIT_DB | - | - | - |  | ok',
        'COM_QUERY | shop | DELETE FROM users WHERE name = ? | 1 |  | ok',
        'COM_QUIT | shop | - | - |  | ok',
      ]);
      expect(parsed.map((p) => p.failures)).to.deep.equal(conversations.map(() => ({})));
      let checked = 0;
      for (const records of conversations) checked += checkPickedUpAnywhere(records);
      expect(checked).to.be.greaterThan(4);
    });
  }

  for (const compress of [false, true]) {
    it(`as the probe captures them, 4096 bytes per call (${compress ? 'compressed' : 'uncompressed'}): every command found, the response cut short without a row count`, async () => {
      await relay!.close();
      relay = await startRelay(db!.port, 4096);
      await cli([...(compress ? ['--compress'] : []), 'shop', '-e', 'SELECT 1; SELECT seq, SHA2(seq, 512) FROM seq_1_to_2000; SELECT name FROM users; SELECT 2']);
      await new Promise((r) => setTimeout(r, 100));
      const [records] = relay!.conversations();
      expect(records.some((r) => r.actSize < r.bufLen)).to.equal(true);
      const { messages, failures } = parse(records);
      expect(messages.map(line)).to.deep.equal([
        'COM_QUERY | shop | SELECT ? | 1 |  | ok',
        // hashes: hardly compressible, so the compressed result is far beyond 4096 bytes too
        'COM_QUERY | shop | SELECT seq, SHA2(seq, ?) FROM seq_1_to_2000 | - |  | ok',
        'COM_QUERY | shop | SELECT name FROM users | 3 |  | ok',
        'COM_QUERY | shop | SELECT ? | 1 |  | ok',
        'COM_QUIT | shop | - | - |  | ok',
      ]);
      expect(failures['mysql:truncated']).to.equal(1);
      expect(failures['mysql:desync_gap']).to.equal(1);
    });
  }

  it('the compressed protocol through the probe (eBPF, 4096 bytes per call): every command the mariadb client sends, seen from both ends', async function () {
    const why = ebpfUnavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const capture = await startCapture({ trace_all_processes: true, ports: [db!.port], poll_interval: '5ms' });
    let records: NetworkRecord[];
    try {
      await run('mariadb', ['-h127.0.0.1', `-P${db!.port}`, `-u${db!.user}`, `-p${db!.password}`, '--compress', 'shop', '-e', 'SELECT 1; SELECT seq, SHA2(seq, 512) FROM seq_1_to_2000; SELECT name FROM users; SELECT 2']);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      records = await capture.stop();
    }
    const client = records.filter((r) => r.comm === 'mariadb');
    expect(client.some((r) => r.actSize < r.bufLen)).to.equal(true);
    const { messages } = parse(client);
    expect(messages.map(line)).to.deep.equal([
      'COM_QUERY | shop | SELECT ? | 1 |  | ok',
      'COM_QUERY | shop | SELECT seq, SHA2(seq, ?) FROM seq_1_to_2000 | - |  | ok',
      'COM_QUERY | shop | SELECT name FROM users | 3 |  | ok',
      'COM_QUERY | shop | SELECT ? | 1 |  | ok',
      'COM_QUIT | shop | - | - |  | ok',
    ]);
    expect(messages.every((m) => m.role === 'client' && m.dport === db!.port)).to.equal(true);
    // the server's end of the same connection: the same commands, the same sequence numbers
    const server = parse(records.filter((r) => r.pid === db!.pid)).messages;
    expect(server.map(line)).to.deep.equal(messages.map(line));
    expect(server.map((m) => [m.role, m.reqSeq, m.respSeq])).to.deep.equal(messages.map((m) => ['server', m.reqSeq, m.respSeq]));
  });

  it('Python PyMySQL: queries, ping, select_db (COM_INIT_DB), USE, an error; taken up at any record', async () => {
    const script = `
import pymysql, sys
c = pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user=sys.argv[2], password=sys.argv[3], database='shop')
cur = c.cursor()
for i in (1, 2, 3):
    cur.execute('SELECT email FROM users WHERE id = %s', (i,))
    cur.fetchall()
c.ping()
c.select_db('information_schema')
cur.execute("SELECT COUNT(*) FROM tables WHERE table_schema = %s", ('shop',))
cur.execute('USE shop')
try:
    cur.execute('SELECT * FROM nope')
except pymysql.err.MySQLError:
    pass
c.close()
`;
    await run(SYSTEM_PYTHON, ['-c', script, String(relay!.port), db!.user, db!.password]);
    await new Promise((r) => setTimeout(r, 100));
    const [records] = relay!.conversations();
    const { messages, failures } = parse(records);
    expect(messages.map(line)).to.deep.equal([
      'COM_QUERY | shop | SET AUTOCOMMIT = ? | 0 |  | ok',
      'COM_QUERY | shop | SELECT email FROM users WHERE id = ? | 1 |  | ok',
      'COM_QUERY | shop | SELECT email FROM users WHERE id = ? | 1 |  | ok',
      'COM_QUERY | shop | SELECT email FROM users WHERE id = ? | 1 |  | ok',
      'COM_PING | shop | - | - |  | ok',
      'COM_INIT_DB | shop | - | - |  | ok',
      'COM_QUERY | information_schema | SELECT COUNT(*) FROM tables WHERE table_schema = ? | 1 |  | ok',
      'COM_QUERY | information_schema | USE shop | 0 |  | ok',
      'COM_QUERY | shop | SELECT * FROM nope | - | 1146 | error',
      'COM_QUIT | shop | - | - |  | ok',
    ]);
    expect(failures).to.deep.equal({});
    expect(checkPickedUpAnywhere(records)).to.be.greaterThan(8);
  });
});
