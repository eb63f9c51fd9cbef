import { expect } from 'chai';
import fc from 'fast-check';
import type { L7Message } from '../../../core/signals';
import { ParseEngine, type ParseCounters } from '../processor';
import { Conversation, clientRecords, cut, defaultSettings, insertNoise } from '../../../test/helpers/parse';
import { Cap, looksLikeCommand, looksLikeGreeting, parseErr, parseHandshakeResponse, parseOk } from './parser';
import { sanitizeSql } from '../../../core/redaction';

function packet(seq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(body.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, body]);
}
const query = (sql: string, cmd = 0x03): Buffer => packet(0, Buffer.concat([Buffer.from([cmd]), Buffer.from(sql)]));
const ok = (seq = 1, affected = 0): Buffer => packet(seq, Buffer.from([0x00, affected, 0, 2, 0, 0, 0]));
const err = (seq: number, code: number, state: string, msg: string): Buffer => {
  const b = Buffer.alloc(3);
  b[0] = 0xff;
  b.writeUInt16LE(code, 1);
  return packet(seq, Buffer.concat([b, Buffer.from('#' + state + msg)]));
};
const eof = (seq: number, status = 2): Buffer => packet(seq, Buffer.from([0xfe, 0, 0, status & 0xff, status >> 8]));
const column = (seq: number, name: string): Buffer => packet(seq, Buffer.concat([Buffer.from([3]), Buffer.from('def'), Buffer.from([0, 0, 0, name.length]), Buffer.from(name), Buffer.alloc(13)]));
const row = (seq: number, ...vals: string[]): Buffer => packet(seq, Buffer.concat(vals.map((v) => Buffer.concat([Buffer.from([v.length]), Buffer.from(v)]))));
function resultSet(cols: string[], rows: string[][], more = false): Buffer {
  let seq = 1;
  const parts = [packet(seq++, Buffer.from([cols.length]))];
  for (const c of cols) parts.push(column(seq++, c));
  parts.push(eof(seq++));
  for (const r of rows) parts.push(row(seq++, ...r));
  parts.push(eof(seq++, more ? 0x0a : 2));
  return Buffer.concat(parts);
}

/** Each request written, then its response read: MySQL does not pipeline. */
function run(req: Buffer[], resp: Buffer[], over = {}): L7Message[] {
  const c = new Conversation('cd'.repeat(16));
  let j = 0;
  for (let i = 0; i < req.length; i++) {
    c.write(req[i]);
    const code = req[i][4];
    if (code !== 0x19 && code !== 0x01 && j < resp.length) c.read(resp[j++]);
  }
  c.close();
  return new ParseEngine(defaultSettings(over)).add(c.records, 0);
}

describe('mysql sanitizer', () => {
  const cases: Array<[string, string, string]> = [
    ["SELECT * FROM users WHERE name = 'o''brien' AND id = 42", 'SELECT * FROM users WHERE name = ? AND id = ?', 'SELECT users'],
    ['select a from `shop`.`orders` o join items i on i.o = o.id where x in (1, 2.5, -3, 0x1f)', 'select a from `shop`.`orders` o join items i on i.o = o.id where x in (?, ?, ?, ?)', 'SELECT shop.orders items'],
    ['INSERT INTO t (a, b) VALUES ("x\\"y", 1e10) -- trailing secret', 'INSERT INTO t (a, b) VALUES (?, ?)', 'INSERT t'],
    ['UPDATE  accounts /* secret */ SET pw = x\'ab\' WHERE id=7', 'UPDATE accounts SET pw = ? WHERE id=?', 'UPDATE accounts'],
    ['DELETE FROM t1 WHERE c = TRUE', 'DELETE FROM t1 WHERE c = TRUE', 'DELETE t1'],
    ['BEGIN', 'BEGIN', 'BEGIN'],
  ];
  for (const [sql, want, summary] of cases) {
    it(`sanitises ${JSON.stringify(sql.slice(0, 40))}`, () => {
      const s = sanitizeSql(sql);
      expect(s.sql).to.equal(want);
      expect(s.summary).to.equal(summary);
      expect(s.sql).not.to.include('secret');
    });
  }
  it('bounds the text it keeps', () => {
    expect(sanitizeSql('SELECT ' + 'a, '.repeat(1000) + 'b FROM t', 50).sql.length).to.be.at.most(52);
  });
});

describe('mysql parser', () => {
  it('reads greeting and handshake response capabilities and database, not auth data', () => {
    const greeting = Buffer.concat([Buffer.from([10]), Buffer.from('10.11.6-MariaDB\0'), Buffer.alloc(4), Buffer.alloc(8, 1), Buffer.from([0]), Buffer.from([0xff, 0xf7]), Buffer.from([8]), Buffer.from([2, 0]), Buffer.from([0xff, 0x81]), Buffer.alloc(20)]);
    expect(looksLikeGreeting(packet(0, greeting), 0, greeting.length + 4)).to.equal(true);
    const caps = Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.CONNECT_WITH_DB;
    const hdr = Buffer.alloc(32);
    hdr.writeUInt32LE(caps, 0);
    const hr = Buffer.concat([hdr, Buffer.from('app\0'), Buffer.from([4]), Buffer.from('PWPW'), Buffer.from('shop\0')]);
    const r = parseHandshakeResponse(hr, 0, hr.length)!;
    expect(r.database).to.equal('shop');
    expect(JSON.stringify(r)).not.to.include('PWPW');
  });

  it('reads OK and ERR packets', () => {
    const o = ok(1, 3);
    expect(parseOk(o, 4, o.length)).to.deep.equal({ affectedRows: 3, status: 2 });
    const e = err(1, 1146, '42S02', "Table 'x' doesn't exist");
    expect(parseErr(e, 4, e.length)).to.deep.equal({ code: 1146, sqlState: '42S02', message: "Table 'x' doesn't exist" });
    expect(looksLikeCommand(query('SELECT 1'), 0, 13)).to.equal(true);
    expect(looksLikeCommand(Buffer.from('GET / HTTP/1.1'), 0, 14)).to.equal(false);
  });

  it('pairs queries with OK, ERR and result sets; counts rows; prepared statements map id to SQL', () => {
    const prepOk = packet(1, Buffer.from([0, 7, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]));
    const ms = run(
      [query("SELECT name FROM users WHERE id = 1"), query('UPDATE t SET a = 2'), query('SELECT * FROM nope'), query('SELECT a FROM t WHERE b = ?', 0x16), packet(0, Buffer.from([0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0])), packet(0, Buffer.from([0x19, 7, 0, 0, 0])), packet(0, Buffer.from([0x0e]))],
      [resultSet(['name'], [['alice'], ['bob']]), ok(1, 5), err(1, 1146, '42S02', 'no table'), Buffer.concat([prepOk, column(2, 'p'), eof(3), column(4, 'a'), eof(5)]), resultSet(['a'], [['1']]), ok(1)],
    );
    const lines = ms.map((m) => [m.mysql!.command, m.mysql!.sql, m.mysql!.rows ?? m.mysql!.affectedRows, m.mysql!.errorCode, m.outcome]);
    expect(lines).to.deep.equal([
      ['COM_QUERY', 'SELECT name FROM users WHERE id = ?', 2, undefined, 'ok'],
      ['COM_QUERY', 'UPDATE t SET a = ?', 5, undefined, 'ok'],
      ['COM_QUERY', 'SELECT * FROM nope', undefined, 1146, 'error'],
      ['COM_STMT_PREPARE', 'SELECT a FROM t WHERE b = ?', undefined, undefined, 'ok'],
      ['COM_STMT_EXECUTE', 'SELECT a FROM t WHERE b = ?', 1, undefined, 'ok'],
      ['COM_STMT_CLOSE', 'SELECT a FROM t WHERE b = ?', undefined, undefined, 'ok'],
      ['COM_PING', undefined, undefined, undefined, 'ok'],
    ]);
    expect(ms[3].mysql!.statementId).to.equal(7);
  });

  it('follows multi-result responses and keeps raw SQL only when asked', () => {
    const ms = run([query("CALL p('x')")], [Buffer.concat([resultSet(['a'], [['1']], true).subarray(0), ok(6)])]);
    expect(ms).to.have.length(1);
    expect(ms[0].mysql!.rows).to.equal(1);
    const raw = run([query("SELECT 'x'")], [ok()], { mysql: { keepRawSql: true, maxSqlLength: 2048, maxStatements: 8 } });
    expect(raw[0].mysql!.sql).to.equal("SELECT 'x'");
  });
});

// ---- properties

const sqlText = fc.constantFrom("SELECT a FROM t WHERE b = 'x'", 'UPDATE t SET a = 1', 'DELETE FROM t', 'SELECT 1', "INSERT INTO t VALUES (1, 'y')");
const exchange = fc.tuple(sqlText, fc.oneof(fc.constant('ok'), fc.constant('err'), fc.array(fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 1 }), { maxLength: 4 })));

function serialise(xs: Array<[string, string | string[][]]>): { req: Buffer; resp: Buffer; expected: string[] } {
  const req: Buffer[] = [];
  const resp: Buffer[] = [];
  const expected: string[] = [];
  for (const [sql, r] of xs) {
    req.push(query(sql));
    if (r === 'ok') resp.push(ok(1, 1));
    else if (r === 'err') resp.push(err(1, 1064, '42000', 'syntax'));
    else resp.push(resultSet(['c'], r as string[][]));
    expected.push(`${sanitizeSql(sql).summary} ${r === 'err' ? 'error' : 'ok'} ${Array.isArray(r) ? r.length : '-'}`);
  }
  return { req: Buffer.concat(req), resp: Buffer.concat(resp), expected };
}

const summary = (ms: L7Message[]): string[] => ms.map((m) => `${m.mysql!.summary} ${m.outcome} ${m.mysql!.rows ?? '-'}`);

describe('mysql parser properties', function () {
  // 100k cases: seconds on an idle core, more on a busy shared machine
  this.timeout(180000);
  it('any cut of a valid conversation into reads gives the same messages', () => {
    fc.assert(
      fc.property(fc.array(exchange, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (xs, rc, sc) => {
        // MySQL does not pipeline: each command is written after the previous response was read
        const { expected } = serialise(xs);
        const parts = xs.map((x) => serialise([x]));
        const interleave = (splitter: (b: Buffer, i: number) => Uint8Array[]): L7Message[] => {
          const e = new ParseEngine(defaultSettings());
          const recs = clientRecords([], []);
          recs.pop();
          let index = 0;
          let seqOut = 1000;
          let seqIn = 5000;
          const base = clientRecords([Buffer.from('x')], [])[0];
          const out: typeof recs = [];
          parts.forEach((p, i) => {
            for (const c of splitter(p.req, i)) {
              out.push({ ...base, funcId: 2, index: index++, tcpSeq: seqOut, payload: c, actSize: c.length, bufLen: c.length });
              seqOut += c.length;
            }
            for (const c of splitter(p.resp, i + 100)) {
              out.push({ ...base, funcId: 1, index: index++, tcpSeq: seqIn, payload: c, actSize: c.length, bufLen: c.length });
              seqIn += c.length;
            }
          });
          return [...e.add(out, 0), ...e.flush()];
        };
        const whole = interleave((b) => [b]);
        const pieces = interleave((b, i) => cut(b, i < 100 ? rc : sc));
        expect(summary(whole)).to.deep.equal(expected);
        expect(summary(pieces)).to.deep.equal(expected);
        expect(pieces.map((m) => [m.reqSeq, m.respSeq])).to.deep.equal(whole.map((m) => [m.reqSeq, m.respSeq]));
      }),
      { numRuns: 10000 },
    );
  });

  it('random and mutated bytes never throw and are counted', () => {
    const pool = fc.sample(fc.array(exchange, { minLength: 1, maxLength: 3 }), { numRuns: 64, seed: 5 }).map(serialise);
    const failures = { v: 0 };
    const counters: ParseCounters = { messages: () => {}, failures: (_p, _r, k) => (failures.v += k), undetected: () => {}, evictedConnections: () => {}, connections: () => {} };
    fc.assert(
      fc.property(fc.nat(63), fc.uint8Array({ maxLength: 16 }), fc.nat(), fc.nat(), fc.boolean(), (i, noise, where, cutAt, inRequest) => {
        const { req, resp } = pool[i];
        const target = inRequest ? req : resp;
        const mutated = insertNoise(target, noise, where);
        const e = new ParseEngine(defaultSettings(), counters);
        e.add(inRequest ? clientRecords(cut(mutated, [cutAt]), [resp]) : clientRecords([req], cut(mutated, [cutAt])), 0);
        e.flush();
      }),
      { numRuns: 100000 },
    );
    expect(failures.v).to.be.greaterThan(0);
  });
});
