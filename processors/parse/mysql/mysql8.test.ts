/**
 * MySQL as MySQL 8 and other real clients speak it, from bytes built to the
 * protocol documentation: query attributes, the compressed protocol,
 * connections picked up after their handshake, and the commands that change
 * the session (database, user, prepared statements).
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { L7Message } from '../../../core/signals';
import { ParseEngine, type ParseCounters } from '../processor';
import { Conversation, defaultSettings, parseTally } from '../../../test/helpers/parse';
import {
  MYSQL8_CAPS,
  PLUGIN_AUTH,
  attributedExecute,
  attributedQuery,
  column,
  command,
  compressed,
  eof,
  err,
  greeting,
  handshakeResponse,
  lenencStr,
  longAttribute,
  ok,
  packet,
  prepareOk,
  query,
  resultSet,
  row,
  stringAttribute,
  type Attribute,
} from '../../../test/helpers/mysql-wire';
import { Cap, Cmd } from './parser';
import { MAX_DECOMPRESSED } from './compression';

type Turn = ['w' | 'r', Buffer];

/** The client's side of a conversation: 'w' written, 'r' read, each its own record. */
function talk(turns: Turn[]): { messages: L7Message[]; failures: Record<string, number> } {
  const c = new Conversation('ef'.repeat(16));
  for (const [dir, bytes] of turns) {
    if (dir === 'w') c.write(bytes);
    else c.read(bytes);
  }
  c.close();
  const tally = parseTally();
  const engine = new ParseEngine(defaultSettings(), tally.counters);
  return { messages: [...engine.add(c.records, 0), ...engine.flush()], failures: tally.failures };
}

/** One line per message: command, database, SQL, attributes, statement, counts, outcome. */
function lines(ms: L7Message[]): string[] {
  return ms.map((m) => {
    const q = m.mysql!;
    const parts = [q.command];
    if (q.database) parts.push(`db=${q.database}`);
    if (q.sql !== undefined) parts.push(JSON.stringify(q.sql));
    if (q.queryAttributes) parts.push(`attrs=${q.queryAttributes.join(',')}`);
    if (q.statementId !== undefined) parts.push(`stmt=${q.statementId}`);
    if (q.rows !== undefined) parts.push(`rows=${q.rows}`);
    if (q.affectedRows !== undefined) parts.push(`affected=${q.affectedRows}`);
    if (q.errorCode !== undefined) parts.push(`err=${q.errorCode}`);
    return `${parts.join(' ')} ${m.outcome}`;
  });
}

/** All of the messages as text, to look for what must not be there. */
const everything = (ms: L7Message[]): string => JSON.stringify(ms, (_k, v) => (typeof v === 'bigint' ? String(v) : v));

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const SECRET_ATTRIBUTE: Attribute = stringAttribute('api_key', 'hunter2-secret');
const handshake = (caps: number, db = 'shop'): Turn[] => [
  ['r', greeting(caps)],
  ['w', handshakeResponse(caps, db)],
  ['r', ok(2)],
];

describe('mysql: query attributes (CLIENT_QUERY_ATTRIBUTES)', () => {
  it('reads the SQL after the attributes when the handshake negotiated them; names kept, values never', () => {
    const { messages } = talk([
      ...handshake(MYSQL8_CAPS),
      ['w', attributedQuery('SELECT name FROM users WHERE id = 7', [stringAttribute('traceparent', TRACEPARENT), longAttribute('tenant', 42), SECRET_ATTRIBUTE, { name: 'nothing', type: 6 }])],
      ['r', resultSet(['name'], [['ada']], true)],
      ['w', attributedQuery('UPDATE t SET a = 1')],
      ['r', ok(1, 1)],
    ]);
    expect(lines(messages)).to.deep.equal([
      'COM_QUERY db=shop "SELECT name FROM users WHERE id = ?" attrs=traceparent,tenant,api_key,nothing rows=1 ok',
      'COM_QUERY db=shop "UPDATE t SET a = ?" affected=1 ok',
    ]);
    const all = everything(messages);
    expect(all).not.to.include('hunter2');
    expect(all).not.to.include(TRACEPARENT);
  });

  it('a server without the capability: the same first bytes are the query', () => {
    const { messages } = talk([...handshake(MYSQL8_CAPS & ~Cap.QUERY_ATTRIBUTES), ['w', query('SELECT 1')], ['r', resultSet(['1'], [['1']], true)]]);
    expect(lines(messages)).to.deep.equal(['COM_QUERY db=shop "SELECT ?" rows=1 ok']);
  });

  it('recognises the prefix when the handshake was not seen, with 32 attributes too (a count that is a space)', () => {
    const many = Array.from({ length: 32 }, (_, i) => longAttribute(`a${i}`, i));
    const { messages } = talk([
      ['w', attributedQuery('SELECT 1')],
      ['r', resultSet(['1'], [['1']], true)],
      ['w', attributedQuery('SELECT * FROM t', many)],
      ['r', resultSet(['a', 'b'], [['1', '2'], ['3', '4']], true)],
    ]);
    expect(lines(messages)).to.deep.equal(['COM_QUERY "SELECT ?" rows=1 ok', `COM_QUERY "SELECT * FROM t" attrs=${many.map((a) => a.name).join(',')} rows=2 ok`]);
  });

  it('negotiated but unreadable (cut inside the attributes): no SQL rather than the attributes as SQL', () => {
    const bad = attributedQuery('SELECT 1', [stringAttribute('x', 'y')]);
    bad[bad.length - 'SELECT 1'.length - 4] = 0x07; // the name's length: the value's length then falls inside the SQL and runs past the packet
    const { messages } = talk([...handshake(MYSQL8_CAPS), ['w', bad], ['r', ok(1)]]);
    expect(lines(messages)).to.deep.equal(['COM_QUERY db=shop affected=0 ok']);
  });

  it('COM_STMT_EXECUTE with PARAMETER_COUNT_AVAILABLE: statement parameters and attributes, names of the attributes only', () => {
    const { messages } = talk([
      ...handshake(MYSQL8_CAPS),
      ['w', command(Cmd.STMT_PREPARE, 'SELECT a FROM t WHERE b = ?')],
      ['r', prepareOk(5, 1, 1, true)],
      ['w', attributedExecute(5, [longAttribute('', 3)], [stringAttribute('traceparent', TRACEPARENT), SECRET_ATTRIBUTE])],
      ['r', resultSet(['a'], [['x'], ['y']], true)],
      ['w', attributedExecute(5, [longAttribute('', 4)], [], 0)],
      ['r', resultSet(['a'], [['z']], true)],
    ]);
    expect(lines(messages)).to.deep.equal([
      'COM_STMT_PREPARE db=shop "SELECT a FROM t WHERE b = ?" stmt=5 ok',
      'COM_STMT_EXECUTE db=shop "SELECT a FROM t WHERE b = ?" attrs=traceparent,api_key stmt=5 rows=2 ok',
      'COM_STMT_EXECUTE db=shop "SELECT a FROM t WHERE b = ?" stmt=5 rows=1 ok',
    ]);
    expect(everything(messages)).not.to.include('hunter2');
  });
});

/** MariaDB's capabilities with CLIENT_COMPRESS: EOF packets after column definitions. */
const COMPRESS_CAPS = 0x1 | 0x4 | Cap.CONNECT_WITH_DB | Cap.COMPRESS | Cap.PROTOCOL_41 | 0x2000 | Cap.SECURE_CONNECTION | PLUGIN_AUTH | Cap.PLUGIN_AUTH_LENENC_DATA;

describe('mysql: compressed protocol (CLIENT_COMPRESS)', () => {
  const users = resultSet(['id', 'name'], [['1', 'ada'], ['2', 'linus'], ['3', 'grace']], false);

  it('inflates after authentication: packets split over compressed packets, several in one, payloads sent as they are', () => {
    const longInsert = query(`INSERT INTO t VALUES ('${'x'.repeat(40000)}')`);
    const { messages, failures } = talk([
      ...handshake(COMPRESS_CAPS),
      ['w', compressed(0, query('SELECT * FROM users WHERE id > 0'), true)],
      // one result set over two compressed packets, cut inside a packet header
      ['r', Buffer.concat([compressed(1, users.subarray(0, 30)), compressed(2, users.subarray(30))])],
      ['w', compressed(0, Buffer.concat([command(Cmd.STMT_CLOSE, Buffer.from([9, 0, 0, 0])), query('SELECT 1')]))],
      ['r', compressed(1, resultSet(['1'], [['1']], false))],
      // a long command over two compressed packets
      ['w', Buffer.concat([compressed(0, longInsert.subarray(0, 20000)), compressed(1, longInsert.subarray(20000))])],
      ['r', compressed(2, ok(1, 1))],
      ['w', compressed(0, command(Cmd.PING))],
      ['r', compressed(1, err(1, 1927, '08S01', 'killed'))],
    ]);
    expect(lines(messages)).to.deep.equal([
      'COM_QUERY db=shop "SELECT * FROM users WHERE id > ?" rows=3 ok',
      'COM_STMT_CLOSE db=shop stmt=9 ok',
      'COM_QUERY db=shop "SELECT ?" rows=1 ok',
      // the literal is cut at max_sql_length, its closing parenthesis with it
      'COM_QUERY db=shop "INSERT INTO t VALUES (?" affected=1 ok',
      'COM_PING db=shop err=1927 error',
    ]);
    expect(failures).to.deep.equal({});
  });

  it('gives each message the sequence number of the compressed packet it starts in', () => {
    const c = new Conversation('ef'.repeat(16), 'client', 100, 500);
    for (const [d, b] of handshake(COMPRESS_CAPS)) (d === 'w' ? c.write(b) : c.read(b));
    const q = compressed(0, query('SELECT 1'));
    const w = c.write(q);
    const r = c.read(compressed(1, resultSet(['1'], [['1']], false)));
    c.close();
    const [m] = new ParseEngine(defaultSettings()).add(c.records, 0);
    expect([m.reqSeq, m.respSeq]).to.deep.equal([w.tcpSeq, r.tcpSeq]);
  });

  it('zstd (CLIENT_ZSTD_COMPRESSION_ALGORITHM) cannot be read on Node 20: the connection is given up and counted', () => {
    const caps = (MYSQL8_CAPS | Cap.ZSTD_COMPRESSION_ALGORITHM) >>> 0;
    const { messages, failures } = talk([...handshake(caps), ['w', Buffer.from('28b52ffd2000', 'hex')], ['r', Buffer.from('28b52ffd', 'hex')]]);
    expect(messages).to.deep.equal([]);
    expect(failures).to.deep.equal({ 'mysql:unsupported_compression': 1 });
  });

  it('a payload that would inflate past the limit is counted, and the stream gets back in step on the next command', () => {
    const { messages, failures } = talk([
      ...handshake(COMPRESS_CAPS),
      ['w', compressed(0, Buffer.concat([query('SELECT 1'), Buffer.alloc(MAX_DECOMPRESSED)]))],
      ['w', compressed(0, query('SELECT 2'))],
      ['r', compressed(1, ok(1))],
    ]);
    expect(lines(messages)).to.deep.equal(['COM_QUERY db=shop "SELECT ?" affected=0 ok']);
    expect(failures['mysql:decompressed_oversize']).to.equal(1);
  });

  it('a compressed packet the probe captured only the start of: the response that begins in it is kept, truncated, without a row count', () => {
    const big = resultSet(['h'], Array.from({ length: 400 }, (_, i) => [createHash('sha512').update(String(i)).digest('hex')]), false);
    const c = new Conversation('ef'.repeat(16));
    for (const [d, b] of handshake(COMPRESS_CAPS)) (d === 'w' ? c.write(b) : c.read(b));
    c.write(compressed(0, query('SELECT h FROM t')));
    const cut = compressed(1, big);
    expect(cut.length).to.be.greaterThan(8192);
    c.read(cut, 4096);
    c.write(compressed(0, query('SELECT 2')));
    c.read(compressed(1, resultSet(['2'], [['2']], false)));
    c.close();
    const failures: string[] = [];
    const counters: ParseCounters = { messages: () => {}, failures: (_p, r, n) => failures.push(`${r}:${n}`), undetected: () => {}, evictedConnections: () => {}, connections: () => {} };
    const engine = new ParseEngine(defaultSettings(), counters);
    const messages = [...engine.add(c.records, 0), ...engine.flush()];
    expect(lines(messages)).to.deep.equal(['COM_QUERY db=shop "SELECT h FROM t" ok', 'COM_QUERY db=shop "SELECT ?" rows=1 ok']);
    expect(messages[0].respSeq).to.equal(c.records.find((r) => r.actSize < r.bufLen)!.tcpSeq);
    expect(failures.sort()).to.deep.equal(['desync_gap:1', 'truncated:1']);
  });

  it('a connection picked up after its handshake: compressed commands are recognised and inflated', () => {
    const { messages } = talk([
      ['w', compressed(0, query('SELECT * FROM users'))],
      ['r', compressed(1, users)],
      ['w', compressed(0, command(Cmd.PING), true)],
      ['r', compressed(1, ok(1))],
    ]);
    expect(lines(messages)).to.deep.equal(['COM_QUERY "SELECT * FROM users" rows=3 ok', 'COM_PING ok']);
  });
});

describe('mysql: a connection whose start was not seen', () => {
  it('skips the tail of a response it cannot place and starts at the next command; infers CLIENT_DEPRECATE_EOF from the result set', () => {
    const { messages } = talk([
      ['r', Buffer.concat([row(5, 'x'), row(6, 'y'), packet(7, Buffer.from([0xfe, 0, 0, 2, 0, 0, 0]))])],
      ['w', query('SELECT a FROM t')],
      ['r', resultSet(['a'], [['1'], ['2']], true)],
      ['w', command(Cmd.STMT_PREPARE, 'SELECT a, b FROM t WHERE c = ?')],
      ['r', prepareOk(3, 1, 2, true)],
      ['w', command(Cmd.STMT_EXECUTE, Buffer.from([3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0]))],
      ['r', resultSet(['a', 'b'], [['1', '2']], true)],
    ]);
    expect(lines(messages)).to.deep.equal([
      'COM_QUERY "SELECT a FROM t" rows=2 ok',
      'COM_STMT_PREPARE "SELECT a, b FROM t WHERE c = ?" stmt=3 ok',
      'COM_STMT_EXECUTE "SELECT a, b FROM t WHERE c = ?" stmt=3 rows=1 ok',
    ]);
  });

  it('a prepare reply first, EOF packets unknown: with and without the EOF after the definitions', () => {
    for (const deprecateEof of [true, false]) {
      for (const [params, cols] of [
        [1, 0],
        [0, 2],
        [2, 1],
      ]) {
        const { messages } = talk([
          ['w', command(Cmd.STMT_PREPARE, 'SELECT ?')],
          ['r', prepareOk(4, params, cols, deprecateEof)],
          ['w', query('SELECT 1')],
          ['r', resultSet(['1'], [['1']], deprecateEof)],
        ]);
        expect(lines(messages), `${deprecateEof} ${params} ${cols}`).to.deep.equal(['COM_STMT_PREPARE "SELECT ?" stmt=4 ok', 'COM_QUERY "SELECT ?" rows=1 ok']);
      }
    }
  });
});

describe('mysql: commands that change the session', () => {
  it('COM_INIT_DB, USE and COM_CHANGE_USER set the database; COM_FIELD_LIST carries it; credentials are never read', () => {
    const authSwitch = packet(1, Buffer.concat([Buffer.from([0xfe]), Buffer.from('mysql_native_password\0'), Buffer.alloc(20, 0x33), Buffer.from([0])]));
    const changeUser = command(Cmd.CHANGE_USER, Buffer.concat([Buffer.from('bob\0'), lenencStr('PWPWPWPWPWPWPWPWPWPW').subarray(0), Buffer.from('billing\0'), Buffer.from([33, 0]), Buffer.from('mysql_native_password\0')]));
    const { messages } = talk([
      ...handshake(COMPRESS_CAPS & ~Cap.COMPRESS, ''),
      ['w', command(Cmd.INIT_DB, 'shop')],
      ['r', ok(1)],
      ['w', query('SELECT 1')],
      ['r', resultSet(['1'], [['1']], false)],
      ['w', query('USE `inventory`')],
      ['r', ok(1)],
      ['w', command(Cmd.FIELD_LIST, 'items\0')],
      ['r', Buffer.concat([column(1, 'id'), column(2, 'name'), eof(3)])],
      ['w', changeUser],
      ['r', authSwitch],
      ['w', packet(2, Buffer.from('SCRAMBLED-SECRET-AUTH'))],
      ['r', ok(3)],
      ['w', query('SELECT 2')],
      ['r', resultSet(['2'], [['2']], false)],
      ['w', command(Cmd.CHANGE_USER, Buffer.concat([Buffer.from('eve\0'), Buffer.from([4]), Buffer.from('EVIL'), Buffer.from('\0'), Buffer.from([33, 0])]))],
      ['r', err(1, 1045, '28000', 'Access denied')],
      ['w', query('SELECT 3')],
      ['r', resultSet(['3'], [['3']], false)],
    ]);
    expect(lines(messages)).to.deep.equal([
      'COM_INIT_DB ok',
      'COM_QUERY db=shop "SELECT ?" rows=1 ok',
      'COM_QUERY db=shop "USE `inventory`" affected=0 ok',
      'COM_FIELD_LIST db=inventory rows=2 ok',
      'COM_CHANGE_USER db=inventory ok',
      'COM_QUERY db=billing "SELECT ?" rows=1 ok',
      'COM_CHANGE_USER db=billing err=1045 error',
      'COM_QUERY db=billing "SELECT ?" rows=1 ok',
    ]);
    const all = everything(messages);
    for (const secret of ['PWPW', 'SCRAMBLED', 'EVIL', 'bob', 'eve']) expect(all).not.to.include(secret);
  });

  it('COM_RESET_CONNECTION and COM_CHANGE_USER forget prepared statements; COM_STMT_RESET is answered, COM_QUIT is not', () => {
    const execute = command(Cmd.STMT_EXECUTE, Buffer.from([1, 0, 0, 0, 0, 1, 0, 0, 0]));
    const { messages } = talk([
      ...handshake(COMPRESS_CAPS & ~Cap.COMPRESS),
      ['w', command(Cmd.STMT_PREPARE, 'SELECT 1')],
      ['r', prepareOk(1, 0, 1, false)],
      ['w', command(Cmd.STMT_RESET, Buffer.from([1, 0, 0, 0]))],
      ['r', ok(1)],
      ['w', execute],
      ['r', resultSet(['1'], [['1']], false)],
      ['w', command(Cmd.RESET_CONNECTION)],
      ['r', ok(1)],
      ['w', execute],
      ['r', err(1, 1243, 'HY000', 'Unknown prepared statement handler')],
      ['w', command(Cmd.PING)],
      ['r', ok(1)],
      ['w', command(Cmd.QUIT)],
    ]);
    expect(lines(messages)).to.deep.equal([
      'COM_STMT_PREPARE db=shop "SELECT ?" stmt=1 ok',
      'COM_STMT_RESET db=shop "SELECT ?" stmt=1 ok',
      'COM_STMT_EXECUTE db=shop "SELECT ?" stmt=1 rows=1 ok',
      'COM_RESET_CONNECTION db=shop ok',
      'COM_STMT_EXECUTE db=shop stmt=1 err=1243 error',
      'COM_PING db=shop ok',
      'COM_QUIT db=shop ok',
    ]);
  });
});
