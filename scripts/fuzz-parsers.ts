/**
 * The long fuzz run for the L7 parsers (the test suite runs 100k cases per
 * parser; this runs for as long as asked). Each case takes a valid
 * conversation, damages it (random bytes inserted, bytes flipped, cut short,
 * bytes dropped, or pure noise), cuts it into reads at random points, and runs
 * it through the parse engine; the pure parser functions also get raw noise.
 * Any exception is a bug: the case is printed with its seed and the run fails.
 *
 *   node --import tsx scripts/fuzz-parsers.ts [seconds-per-protocol=60] [seed]
 */
import { ParseEngine, type ParseCounters } from '../processors/parse/processor';
import { clientRecords, cut, defaultSettings } from '../test/helpers/parse';
import { parseChunkLine, parsePartialHead, parseRequestHead, parseResponseHead } from '../processors/parse/http/parser';
import { parseInline, parseToken } from '../processors/parse/redis/parser';
import { lenenc, parseErr, parseGreeting, parseHandshakeResponse, parseOk, parsePrepareOk } from '../processors/parse/mysql/parser';
import { sanitizeSql } from '../core/redaction';
import * as my from '../test/helpers/mysql-wire';
import { looksLikeFrontendQuery, looksLikeStartup, parseCommandTag, parseErrorFields, parseStartupParameters } from '../processors/parse/postgresql/parser';
import { be, fe, startupAnswer } from '../test/postgresql/messages';
import { detectHttp2, looksLikeFrames } from '../processors/parse/http2/frames';
import { decodeHeaderBlock, DynamicTable, huffmanDecode, type FieldSink } from '../processors/parse/http2/hpack';
import { block, concat, END_HEADERS, END_STREAM, field, frame, H, PREFACE, sampleExchange, settings as settingsFrame, u32 } from '../test/http2/conversation';

const seconds = Number(process.argv[2] ?? 60);
let seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);

/** xorshift32: a reproducible stream of numbers from the seed */
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const noise = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));
const text = (s: string): Uint8Array => Buffer.from(s, 'latin1');

type Fuzzed = 'http' | 'redis' | 'mysql' | 'postgresql' | 'http2';

const CORPUS: Record<Fuzzed, Array<[Uint8Array, Uint8Array]>> = {
  http: [
    [text('GET /a?b=1 HTTP/1.1\r\nHost: h\r\ntraceparent: 00-1-2-01\r\n\r\n'), text('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc')],
    [text('POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'), text('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: 1\r\n\r\n')],
    [text('HEAD / HTTP/1.1\r\n\r\nGET /x HTTP/1.0\r\n\r\n'), text('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil close')],
  ],
  redis: [
    [text('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\nPING\r\n'), text('+OK\r\n-ERR no\r\n+PONG\r\n')],
    [text('*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n*1\r\n$4\r\nEXEC\r\n'), text('%1\r\n$1\r\nf\r\n|1\r\n+a\r\n:1\r\n*2\r\n:1\r\n$-1\r\n')],
    [text('*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n'), text('>3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n')],
  ],
  mysql: [
    [
      Buffer.concat([Buffer.from([9, 0, 0, 0, 3]), text('SELECT 1')]),
      Buffer.concat([Buffer.from([1, 0, 0, 1, 1]), Buffer.from([4, 0, 0, 2, 3, 100, 101, 102]), Buffer.from([5, 0, 0, 3, 0xfe, 0, 0, 2, 0]), Buffer.from([2, 0, 0, 4, 1, 49]), Buffer.from([5, 0, 0, 5, 0xfe, 0, 0, 2, 0])]),
    ],
    [Buffer.concat([Buffer.from([5, 0, 0, 0, 0x16]), text('SELE'), Buffer.from([1, 0, 0, 0, 0x0e])]), Buffer.concat([Buffer.from([12, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0])])],
    [Buffer.concat([Buffer.from([4, 0, 0, 0, 2]), text('abc')]), Buffer.concat([Buffer.from([9, 0, 0, 1, 0xff, 0x19, 4, 0x23]), text('42000')])],
    // MySQL 8 query attributes, and the compressed protocol (both picked up without the handshake)
    [Buffer.concat([my.attributedQuery('SELECT 1', [my.stringAttribute('traceparent', '00-1-2-01'), my.longAttribute('n', 7)]), my.attributedQuery('SELECT 2')]), Buffer.concat([my.ok(1), my.ok(1)])],
    [
      Buffer.concat([my.compressed(0, my.query('SELECT * FROM t')), my.compressed(0, my.query('SELECT 2'), true)]),
      Buffer.concat([my.compressed(1, my.resultSet(['a'], [['1'], ['2']], false).subarray(0, 20)), my.compressed(2, my.resultSet(['a'], [['1'], ['2']], false).subarray(20)), my.compressed(1, my.ok(1), true)]),
    ],
  ],
  postgresql: [
    [
      Buffer.concat([fe.sslRequest(), fe.startup({ user: 'u', database: 'd' }), fe.password('pw'), fe.query("SELECT 1; SELECT E'x\\'' FROM t")]),
      Buffer.concat([text('N'), be.authMd5(Buffer.from('salt')), startupAnswer(), be.rowDescription('a'), be.dataRow('1'), be.commandComplete('SELECT 1'), be.error('42601', 'syntax'), be.ready()]),
    ],
    [
      Buffer.concat([fe.parse('s', 'SELECT $1'), fe.describe('S', 's'), fe.sync(), fe.bind('', 's', ['1']), fe.execute(), fe.bind('', 's', ['2']), fe.execute(), fe.sync(), fe.close('S', 's'), fe.sync()]),
      Buffer.concat([be.parseComplete(), be.parameterDescription(23), be.rowDescription('x'), be.ready(), be.bindComplete(), be.dataRow('1'), be.commandComplete('SELECT 1'), be.error('22012', 'division by zero'), be.ready(), be.closeComplete(), be.ready()]),
    ],
    [
      Buffer.concat([fe.query('COPY t FROM STDIN'), fe.copyData('1\n'), fe.copyDone(), fe.query('LISTEN c')]),
      Buffer.concat([be.copyIn(), be.commandComplete('COPY 1'), be.ready(), be.notice('n'), be.commandComplete('LISTEN'), be.ready(), be.notification(1, 'c', 'p')]),
    ],
  ],
  http2: [
    [sampleExchange(5, 2).requests, sampleExchange(5, 2).responses],
    [
      concat(
        PREFACE,
        settingsFrame([[1, 256]]),
        frame(H.HEADERS, END_STREAM, 1, block(field(':method', 'POST', 'indexed-static'), field(':path', '/demo.Echo/Say', 'incremental', true))),
        frame(H.CONTINUATION, END_HEADERS, 1, block(field('content-type', 'application/grpc', 'incremental'), field('authorization', 'Bearer x', 'never', true))),
        frame(H.HEADERS, END_STREAM | END_HEADERS, 3, block(field(':method', 'GET', 'indexed-static'), field(':path', '/x', 'without'))),
        frame(H.RST_STREAM, 0, 3, u32(8)),
      ),
      concat(
        settingsFrame(),
        frame(H.HEADERS, END_HEADERS, 1, block(field(':status', '200', 'indexed-static'), field('content-type', 'application/grpc', 'incremental'))),
        frame(H.DATA, 0, 1, new Uint8Array(9)),
        frame(H.HEADERS, END_STREAM | END_HEADERS, 1, block(field('grpc-status', '14', 'without'), field('grpc-message', 'down', 'without', true))),
        frame(H.GOAWAY, 0, 0, [...u32(1), ...u32(0)]),
      ),
    ],
  ],
};

function damage(b: Uint8Array): Uint8Array {
  const out = Array.from(b);
  const edits = 1 + int(4);
  for (let i = 0; i < edits; i++) {
    const op = int(5);
    const at = int(out.length + 1);
    if (op === 0) out.splice(at, 0, ...noise(1 + int(16)));
    else if (op === 1 && out.length) out[Math.min(at, out.length - 1)] ^= 1 << int(8);
    else if (op === 2) out.length = at;
    else if (op === 3) out.splice(at, 1 + int(8));
    else out.splice(at, 0, ...out.slice(int(out.length), int(out.length)));
  }
  return Uint8Array.from(out);
}

const counters: ParseCounters = { messages: () => {}, failures: () => {}, undetected: () => {}, evictedConnections: () => {}, connections: () => {} };

const ALL_FIELDS: FieldSink = { wants: () => true, field: () => {}, unknown: () => {} };

const settings = defaultSettings({ protocols: ['http', 'redis', 'mysql', 'postgresql', 'http2'] });

function oneCase(protocol: Fuzzed): void {
  const [req, resp] = pick(CORPUS[protocol]);
  const r = int(4) === 0 ? req : damage(req);
  const s = int(4) === 0 ? noise(int(64)) : damage(resp);
  const cuts = Array.from({ length: int(6) }, () => int(1 << 16));
  const e = new ParseEngine(settings, counters);
  e.add(clientRecords(cut(r, cuts), cut(s, cuts), pick(['client', 'server', 'unknown'] as const)), 0);
  e.flush();
  // the pure functions directly, on the damaged bytes
  const b = s;
  if (protocol === 'http') {
    parseRequestHead(r, 0, r.length);
    parseResponseHead(b, 0, b.length, pick(['GET', 'HEAD', undefined]));
    parseChunkLine(b, 0, b.length);
    parsePartialHead(b, 0, b.length, int(2) === 0);
  } else if (protocol === 'redis') {
    parseToken(b, 0, b.length);
    parseInline(r, 0, r.length);
  } else if (protocol === 'http2') {
    detectHttp2(r, 0, r.length);
    looksLikeFrames(b, 0, b.length);
    decodeHeaderBlock(b, 0, b.length, new DynamicTable(4096, int(2) === 0), ALL_FIELDS);
    huffmanDecode(r, 0, r.length, true);
  } else if (protocol === 'postgresql') {
    looksLikeStartup(r, 0, r.length);
    looksLikeFrontendQuery(r, 0, r.length);
    parseStartupParameters(r, 0, r.length);
    parseErrorFields(b, 0, b.length);
    parseCommandTag(Buffer.from(b).toString('latin1'));
    sanitizeSql(Buffer.from(r).toString('latin1'), 2048, false, 'postgresql');
  } else {
    lenenc(b, 0, b.length);
    parseOk(b, 0, b.length);
    parseErr(b, 0, b.length);
    parseGreeting(b, 0, b.length);
    parseHandshakeResponse(b, 0, b.length);
    parsePrepareOk(b, 0, b.length);
    sanitizeSql(Buffer.from(b).toString('latin1'));
  }
}

let failed = false;
for (const protocol of ['http', 'redis', 'mysql', 'postgresql', 'http2'] as const) {
  const stop = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < stop) {
    for (let i = 0; i < 1000; i++, n++) {
      const caseSeed = seed;
      try {
        oneCase(protocol);
      } catch (e) {
        failed = true;
        console.error(`${protocol}: case ${n} (seed ${caseSeed}) threw: ${(e as Error).stack}`);
        break;
      }
    }
    if (failed) break;
  }
  console.log(`${protocol}: ${n} cases in ${seconds}s, ${failed ? 'FAILED' : 'no exception'}`);
  if (failed) break;
}
process.exit(failed ? 1 : 0);
