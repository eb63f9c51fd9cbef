/**
 * Records read in place from a batch (RecordView) are parsed from the batch's
 * bytes at their offsets (payloadIn), with other records' bytes on both
 * sides: a session that read outside the bytes it was given would see them.
 * Every protocol's conversations, whole or damaged and cut anywhere, give the
 * same messages and counts as the same records holding their own payloads.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { DecodeCache, encodeRecord, encodedSize, RecordView, recordBatch } from '../../core/records/network-data';
import type { NetworkRecord } from '../../core/signals';
import { clientRecords, cut, defaultSettings } from '../../test/helpers/parse';
import * as my from '../../test/helpers/mysql-wire';
import { sampleExchange } from '../../test/http2/conversation';
import { be, fe, startupAnswer } from '../../test/postgresql/messages';
import { ParseEngine, type ParseCounters } from './processor';

const text = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const h2 = sampleExchange(6);

const CONVERSATIONS: Array<[Uint8Array, Uint8Array]> = [
  [text('GET /a?b=1 HTTP/1.1\r\nHost: h\r\ntraceparent: 00-1-2-01\r\n\r\nPOST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'), text('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabcHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n')],
  [text('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n'), text('+OK\r\n$1\r\nv\r\n|1\r\n+a\r\n:1\r\n+PONG\r\n')],
  [Buffer.concat([my.query('SELECT 1'), my.query('SELECT a FROM t')]), Buffer.concat([my.resultSet(['1'], [['1']], false), my.err(1, 1146, '42S02', 'no table')])],
  [Buffer.concat([fe.startup({ user: 'u', database: 'd' }), fe.query('SELECT 1')]), Buffer.concat([startupAnswer(), be.rowDescription('x'), be.dataRow('1'), be.commandComplete('SELECT 1'), be.ready()])],
  [h2.requests, h2.responses],
];

/** `records` encoded into one batch, each after `gaps[i]` bytes of noise, with noise after the last; read back in place. */
function inPlace(records: NetworkRecord[], gaps: number[], noise: number): NetworkRecord[] {
  const size = records.reduce((n, r, i) => n + gaps[i % gaps.length] + encodedSize(r), 0) + 64;
  const buf = Buffer.alloc(size, noise);
  const offsets: number[] = [];
  let at = 0;
  records.forEach((r, i) => {
    at += gaps[i % gaps.length];
    offsets.push(at);
    at += encodeRecord(r, buf, at);
  });
  const batch = recordBatch(buf, records[0].host, new DecodeCache());
  return offsets.map((o) => new RecordView(batch, o));
}

/** The messages (as far as the bytes decide them) and the counts of a parse of `records`. */
function parsed(records: NetworkRecord[]): string {
  const counted: string[] = [];
  const counters: ParseCounters = {
    messages: () => {},
    failures: (p, reason, n) => counted.push(`${p} ${reason} ${n}`),
    undetected: (n) => counted.push(`undetected ${n}`),
    evictedConnections: () => {},
    connections: () => {},
  };
  const e = new ParseEngine(defaultSettings(), counters);
  const ms = [...e.add(records, 0), ...e.flush()];
  return JSON.stringify([ms.map((m) => [m.protocol, m.role, m.reqStart, m.reqEnd, m.respStart, m.respEnd, m.reqSeq, m.respSeq, m.outcome, m.http, m.redis, m.mysql, m.postgresql]), counted]);
}

describe('parse: records read in place', function () {
  this.timeout(120000);

  it('give the same messages as records holding their own payloads, whatever bytes lie around them', () => {
    fc.assert(
      fc.property(
        fc.nat(CONVERSATIONS.length - 1),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.array(fc.record({ at: fc.nat(), byte: fc.nat(255) }), { maxLength: 3 }),
        fc.array(fc.nat(40), { minLength: 1, maxLength: 4 }),
        fc.nat(255),
        fc.constantFrom('client' as const, 'server' as const, 'unknown' as const),
        (which, cuts, damage, gaps, noise, role) => {
          const [req, resp] = CONVERSATIONS[which].map((b) => Uint8Array.from(b));
          for (const d of damage) resp[d.at % resp.length] = d.byte;
          const records = clientRecords(cut(req, cuts), cut(resp, cuts.map((n) => n * 3)), role);
          expect(parsed(inPlace(records, gaps, noise))).to.equal(parsed(records));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
