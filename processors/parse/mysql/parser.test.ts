import { expect } from 'chai';
import fc from 'fast-check';
import type { L7Message, NetworkRecord } from '../../../core/signals';
import { ParseEngine, type ParseCounters } from '../processor';
import { Conversation, clientRecords, cut, defaultSettings, insertNoise } from '../../../test/helpers/parse';
import { MYSQL8_CAPS, attributedQuery, compressed, greeting, handshakeResponse, longAttribute, stringAttribute, type Attribute } from '../../../test/helpers/mysql-wire';
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

// ---- properties of the MySQL 8 states: query attributes, the compressed protocol, no handshake seen

const attributeArb: fc.Arbitrary<Attribute> = fc.oneof(
  fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 40 })).map(([n, v]) => stringAttribute(n, v)),
  fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.integer()).map(([n, v]) => longAttribute(n, v)),
  fc.string({ minLength: 1, maxLength: 12 }).map((n): Attribute => ({ name: n, type: 6 })),
);

/**
 * A client's records: each turn's bytes cut at the given points, but for the
 * first `uncut` turns: protocol detection looks at a connection's first few
 * records, and servers and clients write a greeting or a command whole.
 */
function records(turns: Array<['w' | 'r', Buffer]>, cuts: number[][], uncut: number): NetworkRecord[] {
  const c = new Conversation('cd'.repeat(16));
  turns.forEach(([d, b], i) => {
    for (const piece of i < uncut ? [b] : cut(b, cuts[i % cuts.length] ?? [])) (d === 'w' ? c.write(piece) : c.read(piece));
  });
  c.close();
  return c.records;
}

/** The MySQL packet stream `bytes` in compressed packets, split at `splits`, each deflated or sent as it is. */
function inCompressedPackets(bytes: Buffer, splits: number[], raw: boolean[], firstSeq: number): Buffer {
  return Buffer.concat(cut(bytes, splits).map((piece, i) => compressed((firstSeq + i) & 0xff, Buffer.from(piece), raw[i % Math.max(1, raw.length)] ?? false)));
}

const COMPRESSING = Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.CONNECT_WITH_DB | Cap.COMPRESS | Cap.PLUGIN_AUTH_LENENC_DATA;

function compressedTurns(xs: Array<[string, string | string[][]]>, splits: number[], raw: boolean[]): Array<['w' | 'r', Buffer]> {
  const turns: Array<['w' | 'r', Buffer]> = [
    ['r', greeting(COMPRESSING)],
    ['w', handshakeResponse(COMPRESSING, 'shop')],
    ['r', ok(2)],
  ];
  for (const x of xs) {
    const { req, resp } = serialise([x]);
    turns.push(['w', inCompressedPackets(req, splits, raw, 0)], ['r', inCompressedPackets(resp, splits.map((s) => s * 7), raw, 1)]);
  }
  return turns;
}

describe('mysql parser properties: MySQL 8 states', function () {
  this.timeout(300000);
  const cuts = fc.array(fc.array(fc.nat(), { maxLength: 6 }), { minLength: 1, maxLength: 8 });
  const parse = (recs: NetworkRecord[]): L7Message[] => {
    const e = new ParseEngine(defaultSettings());
    return [...e.add(recs, 0), ...e.flush()];
  };

  it('query attributes, negotiated or recognised without the handshake, cut anywhere: the SQL and the attribute names', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(sqlText, fc.array(attributeArb, { maxLength: 5 })), { minLength: 1, maxLength: 3 }), fc.boolean(), cuts, (xs, withHandshake, cutAt) => {
        const turns: Array<['w' | 'r', Buffer]> = withHandshake ? [['r', greeting(MYSQL8_CAPS)], ['w', handshakeResponse(MYSQL8_CAPS, 'shop')], ['r', ok(2)]] : [];
        for (const [sql, attrs] of xs) turns.push(['w', attributedQuery(sql, attrs)], ['r', ok(1, 1)]);
        const ms = parse(records(turns, cutAt, withHandshake ? 3 : 1));
        expect(ms.map((m) => m.mysql!.sql)).to.deep.equal(xs.map(([sql]) => sanitizeSql(sql).sql));
        expect(ms.map((m) => m.mysql!.queryAttributes ?? [])).to.deep.equal(xs.map(([, attrs]) => attrs.map((a) => Buffer.from(a.name).toString())));
        expect(ms.every((m) => m.outcome === 'ok')).to.equal(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('compressed conversations, packets split over compressed packets anywhere and reads cut anywhere: the same messages', () => {
    fc.assert(
      fc.property(fc.array(exchange, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.boolean(), { maxLength: 4 }), cuts, (xs, splits, raw, cutAt) => {
        const { expected } = serialise(xs);
        const whole = parse(records(compressedTurns(xs, splits, raw), [[]], 0));
        const pieces = parse(records(compressedTurns(xs, splits, raw), cutAt, 3));
        expect(summary(whole)).to.deep.equal(expected);
        expect(summary(pieces)).to.deep.equal(expected);
        expect(pieces.map((m) => [m.reqSeq, m.respSeq])).to.deep.equal(whole.map((m) => [m.reqSeq, m.respSeq]));
      }),
      { numRuns: 2000 },
    );
  });

  /**
   * Each read or write keeps its first bytes, as the probe keeps the first
   * 4096 of each call (here at least 48, so that a start can be told): a call
   * of which nothing at all is seen while the stream is out of step is not
   * reported to the session by stream assembly, and a response could then be
   * taken for the answer to an older command.
   */
  it('compressed conversations with bytes the probe did not capture: never a query or count that was not sent', () => {
    fc.assert(
      fc.property(fc.array(exchange, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.boolean(), { maxLength: 4 }), cuts, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), (xs, splits, raw, cutAt, captured) => {
        const c = new Conversation('cd'.repeat(16));
        let n = 0;
        compressedTurns(xs, splits, raw).forEach(([d, b], i) => {
          for (const piece of i < 3 ? [b] : cut(b, cutAt[i % cutAt.length])) {
            const keep = i < 3 ? piece.length : Math.min(piece.length, 48 + (captured[n++ % captured.length] % piece.length));
            if (d === 'w') c.write(piece, keep);
            else c.read(piece, keep);
          }
        });
        c.close();
        for (const m of parse(c.records)) {
          const q = m.mysql!;
          if (q.sql === undefined || m.outcome === 'no_response') continue;
          // one exchange sent it all: its SQL (as far as a cut command was captured), its outcome, its rows (none when the response was cut)
          const sent = xs.some(([sql, r]) => {
            const asCaptured = Array.from({ length: sql.length }, (_, k) => sanitizeSql(sql.slice(0, k + 1)).sql);
            return asCaptured.includes(q.sql!) && m.outcome === (r === 'err' ? 'error' : 'ok') && (q.rows === undefined || q.rows === (r as string[][]).length);
          });
          expect(sent, `${q.sql} ${m.outcome} ${q.rows}`).to.equal(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('damaged compressed and attributed input never throws, and is counted', () => {
    const pool = fc.sample(fc.tuple(fc.array(exchange, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 3 }), fc.array(fc.boolean(), { maxLength: 3 })), { numRuns: 32, seed: 7 });
    const conversations = pool.map(([xs, splits, raw]) => compressedTurns(xs, splits, raw));
    conversations.push([['w', attributedQuery('SELECT 1', [stringAttribute('a', 'b'), longAttribute('c', 1)])], ['r', ok(1)], ['w', attributedQuery('SELECT 2')], ['r', ok(1)]]);
    let failures = 0;
    const counters: ParseCounters = { messages: () => {}, failures: (_p, _r, k) => (failures += k), undetected: () => {}, evictedConnections: () => {}, connections: () => {} };
    fc.assert(
      fc.property(fc.nat(conversations.length - 1), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.nat(), cuts, (i, turn, noise, where, cutAt) => {
        const turns = conversations[i].map(([d, b]): ['w' | 'r', Buffer] => [d, b]);
        const t = turn % turns.length;
        turns[t] = [turns[t][0], Buffer.from(insertNoise(turns[t][1], noise, where))];
        const e = new ParseEngine(defaultSettings(), counters);
        e.add(records(turns, cutAt, 0), 0);
        e.flush();
      }),
      { numRuns: 20000 },
    );
    expect(failures).to.be.greaterThan(0);
  });
});
