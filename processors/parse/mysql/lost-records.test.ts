/**
 * MySQL and PostgreSQL when the probe could not hand over some records (its
 * buffer full): the index shows no gap, the sequence numbers do. A query or
 * a response lost that way must never leave a response paired with the
 * wrong query: the queries whose responses may be among the bytes lost are
 * given up (`no_response`). (Redis: ../redis/lost-records.test.ts; HTTP/1.x:
 * ../http/midstream.test.ts.)
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { FuncId } from '../../../core/records/network-data';
import type { L7Message, NetworkRecord } from '../../../core/signals';
import { Conversation, cut, defaultSettings, expectOwnResponses } from '../../../test/helpers/parse';
import * as my from '../../../test/helpers/mysql-wire';
import { be, fe } from '../../../test/postgresql/messages';
import { ParseEngine } from '../processor';

interface Exchange {
  key: number;
  /** rows of the result; -1: an error */
  rows: number;
  /** bytes of each row's value */
  width: number;
}

const exchange: fc.Arbitrary<Exchange> = fc.record({ key: fc.nat(99), rows: fc.integer({ min: -1, max: 20 }), width: fc.nat(400) });

const PROTOCOLS = {
  mysql: {
    query: (x: Exchange): Buffer => my.query(`SELECT v FROM t WHERE k = ${x.key}`),
    response: (x: Exchange): Buffer =>
      x.rows < 0 ? my.err(1, 1146, '42S02', 'no such table') : my.resultSet(['v'], Array.from({ length: x.rows }, () => ['v'.repeat(x.width)]), false),
  },
  postgresql: {
    query: (x: Exchange): Buffer => fe.query(`SELECT v FROM t WHERE k = ${x.key}`),
    response: (x: Exchange): Buffer =>
      x.rows < 0
        ? Buffer.concat([be.error('42P01', 'no such table'), be.ready()])
        : Buffer.concat([be.rowDescription('v'), ...Array.from({ length: x.rows }, () => be.dataRow('v'.repeat(x.width))), be.commandComplete(`SELECT ${x.rows}`), be.ready()]),
  },
};

interface Built {
  records: NetworkRecord[];
  /** per exchange: the sequence numbers of its query and of its response */
  truth: Array<{ reqSeq: number; respSeq: number }>;
}

/** One end's records of `xs` (a connection picked up at its first query), each query one record, responses cut into reads at `cuts`. */
function build(protocol: keyof typeof PROTOCOLS, xs: Exchange[], server: boolean, cuts: number[]): Built {
  const p = PROTOCOLS[protocol];
  const c = new Conversation('12'.repeat(16), 'unknown');
  const send = (bytes: Uint8Array, request: boolean): number => {
    let seq = -1;
    for (const piece of request ? [bytes] : cut(bytes, cuts)) {
      const r = request === server ? c.read(piece) : c.write(piece);
      if (seq < 0) seq = r.tcpSeq;
    }
    return seq;
  };
  const truth = xs.map((x) => ({ reqSeq: send(p.query(x), true), respSeq: send(p.response(x), false) }));
  return { records: c.records, truth };
}


/** The messages of `records` but those at the indexes `lost`, every protocol enabled (as by default). */
function parse(records: NetworkRecord[], lost: ReadonlySet<number>): L7Message[] {
  const kept = records.filter((_, i) => !lost.has(i)).map((r, index) => ({ ...r, index }));
  const e = new ParseEngine(defaultSettings({ protocols: ['http', 'http2', 'redis', 'mysql', 'postgresql'] }));
  return [...e.add(kept, 0), ...e.flush()];
}

const brief = (ms: L7Message[]): Array<[number, number | undefined, string]> => ms.map((m) => [m.reqSeq, m.respSeq, m.outcome]);

describe('records lost in the kernel (MySQL, PostgreSQL)', function () {
  this.timeout(180000);

  it('mysql: the second response and the third query lost: the second query is given up, never paired with the third response', () => {
    const xs = [0, 1, 2].map((key) => ({ key, rows: 0, width: 0 }));
    // client side, one record per query and per response: Q1 R1 Q2 R2 Q3 R3
    const { records, truth } = build('mysql', xs, false, []);
    const ms = parse(records, new Set([3, 4]));
    expect(brief(ms)).to.deep.equal([
      [truth[0].reqSeq, truth[0].respSeq, 'ok'],
      [truth[1].reqSeq, undefined, 'no_response'],
    ]);
  });

  it('postgresql: a response whose first read starts with a RowDescription (joined mid-stream) and whose end was lost: its query keeps what was seen, never paired with the next response', () => {
    const xs = [0, 1].map((key) => ({ key, rows: 0, width: 0 }));
    // client side, each response in two reads (RowDescription and CommandComplete, then ReadyForQuery): Q1 R1 R1' Q2 R2 R2'
    const { records, truth } = build('postgresql', xs, false, [41]);
    const ms = parse(records, new Set([2]));
    // the bytes lost may have held the second query's answer (as far as the gap shows): it is given up
    expect(brief(ms)).to.deep.equal([
      [truth[0].reqSeq, truth[0].respSeq, 'ok'],
      [truth[1].reqSeq, undefined, 'no_response'],
    ]);
  });

  for (const protocol of ['mysql', 'postgresql'] as const) {
    it(`${protocol}: records lost (no gap in the index) once each direction has a sequence number: never a wrong pairing`, () => {
      fc.assert(
        fc.property(fc.array(exchange, { minLength: 2, maxLength: 6 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (xs, server, cuts, drops) => {
          const { records, truth } = build(protocol, xs, server, cuts);
          // a direction's first record gives the sequence number that later losses show against
          const firsts = new Set([records.findIndex((r) => r.funcId === FuncId.READ), records.findIndex((r) => r.funcId === FuncId.WRITE)]);
          // (a lost one-byte read would be taken for a read numbered one past for its FIN: see stream.ts)
          const droppable = records.map((_, i) => i).filter((i) => !firsts.has(i) && !(records[i].bufLen === 1 && records[i].funcId === FuncId.READ));
          if (!droppable.length) return;
          expectOwnResponses(parse(records, new Set(drops.map((d) => droppable[d % droppable.length]))), truth, 'query');
        }),
        { numRuns: 3000 },
      );
    });
  }
});
