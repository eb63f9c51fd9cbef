import { expect } from 'chai';
import fc from 'fast-check';
import type { L7Message } from '../../../core/signals';
import { INVALID, NEED_MORE } from '../decoder';
import { ParseEngine, type ParseCounters } from '../processor';
import { clientRecords, cut, defaultSettings, insertNoise } from '../../../test/helpers/parse';
import { T_ARRAY, T_BULK, T_ERROR, T_MAP, looksLikeRequest, parseInline, parseToken, type Token } from './parser';

const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');

function run(req: string | Uint8Array[], resp: string | Uint8Array[], keepArgs = false): L7Message[] {
  const e = new ParseEngine(defaultSettings({ redis: { keepArgs, maxArgs: 16, maxArgLength: 128 } }));
  const r = typeof req === 'string' ? [b(req)] : req;
  const s = typeof resp === 'string' ? [b(resp)] : resp;
  return e.add(clientRecords(r, s), 0);
}

const cmd = (...a: string[]): string => `*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('');

describe('redis parser', () => {
  it('decodes tokens of every RESP2/RESP3 type', () => {
    const t = (s: string): Token => parseToken(b(s), 0, s.length) as Token;
    expect(t('*3\r\n')).to.include({ type: T_ARRAY, count: 3, len: 4 });
    expect(t('%2\r\n')).to.include({ type: T_MAP, count: 4 });
    expect(t('$5\r\nhello\r\n')).to.include({ type: T_BULK, len: 11, skip: 0 });
    expect(t('$-1\r\n')).to.include({ count: -1 });
    expect(t('-ERR bad\r\n')).to.include({ type: T_ERROR });
    for (const s of ['+OK\r\n', ':12\r\n', '_\r\n', '#t\r\n', ',1.5\r\n', '(123\r\n', '=8\r\ntxt:abcd\r\n', '!3\r\nERR\r\n', '>2\r\n', '~1\r\n', '|1\r\n']) {
      expect(parseToken(b(s), 0, s.length), s).to.be.an('object');
    }
    expect(parseToken(b('$5\r\nhel'), 0, 8)).to.equal(NEED_MORE);
    expect(parseToken(b('?x\r\n'), 0, 4)).to.equal(INVALID);
    expect(parseToken(b(':abc\r\n'), 0, 6)).to.equal(INVALID);
    // a large blob is framed by its length instead of waited for
    const big = parseToken(b('$100000\r\nxx'), 0, 11) as Token;
    expect(big).to.include({ len: 9, skip: 100002 });
  });

  it('recognises requests and inline commands', () => {
    expect(looksLikeRequest(b(cmd('GET', 'k')), 0, 21)).to.equal(true);
    expect(looksLikeRequest(b('PING\r\n'), 0, 6)).to.equal(true);
    expect(looksLikeRequest(b('HELLO there'), 0, 11)).to.equal(true);
    expect(looksLikeRequest(b('GET / HTTP/1.1'), 0, 14)).to.equal(true); // both inline GET and HTTP: detection tries HTTP first
    expect(looksLikeRequest(b('+OK\r\n'), 0, 5)).to.equal(false);
    expect(parseInline(b('set  a b\r\n'), 0, 10)).to.deep.include({ len: 10 });
  });

  it('pairs pipelined commands, names subcommands, tracks SELECT, keeps no arguments by default', () => {
    const ms = run(cmd('SELECT', '3') + cmd('SET', 'k', 'secret') + cmd('CLIENT', 'SETNAME', 'x') + cmd('AUTH', 'pw'), '+OK\r\n+OK\r\n+OK\r\n-WRONGPASS invalid\r\n');
    expect(ms.map((m) => [m.redis!.command, m.redis!.db, m.outcome, m.redis!.errorPrefix])).to.deep.equal([
      ['SELECT', 0, 'ok', undefined],
      ['SET', 3, 'ok', undefined],
      ['CLIENT SETNAME', 3, 'ok', undefined],
      ['AUTH', 3, 'error', 'WRONGPASS'],
    ]);
    expect(JSON.stringify(ms.map((m) => m.redis))).not.to.include('secret');
    const kept = run(cmd('SET', 'k', 'v') + cmd('AUTH', 'user', 'pw'), '+OK\r\n+OK\r\n', true);
    expect(kept[0].redis!.args).to.deep.equal(['k', 'v']);
    expect(kept[1].redis!.args).to.equal(undefined);
  });

  it('keeps no credential with keep_args: AUTH, HELLO … AUTH, MIGRATE … AUTH/AUTH2, ACL SETUSER passwords and hashes, CONFIG SET passwords', () => {
    const ms = run(
      cmd('HELLO', '3', 'AUTH', 'default', 'pw-hello', 'SETNAME', 'app') +
        cmd('MIGRATE', 'db2', '6379', '', '0', '5000', 'COPY', 'AUTH2', 'mover', 'pw-migrate', 'KEYS', 'k1', 'AUTH') +
        cmd('MIGRATE', 'db2', '6379', 'k', '0', '5000', 'AUTH', 'pw-migrate1') +
        cmd('ACL', 'SETUSER', 'alice', 'on', '>pw-acl', '#' + 'ab'.repeat(32), '<pw-old', '!' + 'cd'.repeat(32), '~cache:*', '+get') +
        cmd('CONFIG', 'SET', 'maxmemory', '100mb', 'requirepass', 'pw-config', 'MasterAuth', 'pw-master') +
        cmd('CONFIG', 'SET', 'tls-key-file-pass', 'pw-tls') +
        'CONFIG SET requirepass pw-inline\r\n' +
        cmd('SENTINEL', 'SET', 'mymaster', 'auth-pass', 'pw-sentinel'),
      '+OK\r\n'.repeat(8),
      true,
    );
    expect(JSON.stringify(ms.map((m) => m.redis))).not.to.include('pw-');
    expect(JSON.stringify(ms.map((m) => m.redis))).not.to.include('abab');
    expect(ms.map((m) => [m.redis!.command, ...(m.redis!.args ?? [])])).to.deep.equal([
      ['HELLO', '3', 'AUTH', 'REDACTED', 'REDACTED', 'SETNAME', 'app'],
      ['MIGRATE', 'db2', '6379', '', '0', '5000', 'COPY', 'AUTH2', 'REDACTED', 'REDACTED', 'KEYS', 'k1', 'AUTH'],
      ['MIGRATE', 'db2', '6379', 'k', '0', '5000', 'AUTH', 'REDACTED'],
      ['ACL SETUSER', 'alice', 'on', 'REDACTED', 'REDACTED', 'REDACTED', 'REDACTED', '~cache:*', '+get'],
      ['CONFIG SET', 'maxmemory', '100mb', 'requirepass', 'REDACTED', 'MasterAuth', 'REDACTED'],
      ['CONFIG SET', 'tls-key-file-pass', 'REDACTED'],
      ['CONFIG SET', 'requirepass', 'REDACTED'],
      ['SENTINEL', 'SET', 'mymaster', 'auth-pass', 'REDACTED'],
    ]);
  });

  it('judges a secret by the whole argument, however short max_arg_length cuts what is kept', () => {
    const e = new ParseEngine(defaultSettings({ redis: { keepArgs: true, maxArgs: 16, maxArgLength: 4 } }));
    const ms = e.add(clientRecords([b(cmd('CONFIG', 'SET', 'requirepass', 'pw-config') + cmd('SET', 'key', 'value'))], [b('+OK\r\n+OK\r\n')]), 0);
    expect(ms.map((m) => m.redis!.args)).to.deep.equal([
      ['requ', 'REDACTED'],
      ['key', 'valu'],
    ]);
  });

  it('walks nested and RESP3 replies, sets pub/sub pushes aside, handles MULTI/EXEC', () => {
    const ms = run(
      cmd('HGETALL', 'h') + cmd('MULTI') + cmd('INCR', 'n') + cmd('EXEC') + cmd('SUBSCRIBE', 'a') + cmd('PING'),
      '%1\r\n$1\r\nf\r\n*2\r\n:1\r\n|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n' +
        '+OK\r\n+QUEUED\r\n*1\r\n:1\r\n' +
        '>3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n' +
        '>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n' +
        '>2\r\n$4\r\npong\r\n$0\r\n\r\n',
    );
    expect(ms.map((m) => `${m.redis!.command} ${m.outcome}`)).to.deep.equal(['HGETALL ok', 'MULTI ok', 'INCR ok', 'EXEC ok', 'SUBSCRIBE ok', 'PING ok']);
  });

  it('rides over the uncaptured part of a large value', () => {
    const value = 'v'.repeat(10000);
    const reply = `$${value.length}\r\n${value}\r\n`;
    const e = new ParseEngine(defaultSettings());
    const recs = clientRecords([b(cmd('GET', 'big') + cmd('PING'))], []);
    const close = recs.pop()!;
    const c = recs[0];
    // the probe kept the first 4096 bytes of the reply read
    recs.push(
      { ...c, funcId: 1, index: 1, tcpSeq: 9000, payload: b(reply).subarray(0, 4096), actSize: 4096, bufLen: reply.length },
      { ...c, funcId: 1, index: 2, tcpSeq: 9000 + reply.length, payload: b('+PONG\r\n'), actSize: 7, bufLen: 7 },
      { ...close, index: 3 },
    );
    const ms = e.add(recs, 0);
    expect(ms.map((m) => `${m.redis!.command} ${m.outcome} ${m.respSeq}`)).to.deep.equal(['GET ok 9000', `PING ok ${9000 + reply.length}`]);
  });
});

// ---- properties

const word = fc.string({ unit: fc.constantFrom(...'abcXYZ019 \r\n$*'.split('')), maxLength: 10 });
const command = fc.tuple(fc.constantFrom('GET', 'SET', 'DEL', 'LPUSH', 'HGETALL', 'CLIENT', 'PING'), fc.array(word, { maxLength: 3 }));
const leaf = fc.oneof(
  fc.constant('+OK\r\n'),
  fc.constant('-ERR nope\r\n'),
  fc.constant('-WRONGTYPE wrong\r\n'),
  fc.integer().map((n) => `:${n}\r\n`),
  word.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`),
  fc.constant('$-1\r\n'),
  fc.constant('_\r\n'),
  fc.constant(',3.14\r\n'),
);
const { reply } = fc.letrec((tie) => ({
  reply: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('reply'), { maxLength: 3 }).map((xs) => `*${xs.length}\r\n${xs.join('')}`), fc.array(fc.tuple(leaf, tie('reply')), { maxLength: 2 }).map((kv) => `%${kv.length}\r\n${kv.map(([k, v]) => k + v).join('')}`)),
}));

function serialise(pairs: Array<[[string, string[]], string]>): { req: Uint8Array; resp: Uint8Array; expected: string[] } {
  let req = '';
  let resp = '';
  const expected: string[] = [];
  for (const [[name, args], r] of pairs) {
    req += cmd(name, ...args);
    resp += r;
    const sub = name === 'CLIENT' && args.length ? ` ${args[0].toUpperCase()}` : '';
    expected.push(`${name}${sub} ${r.startsWith('-') ? 'error' : 'ok'}`);
  }
  return { req: b(req), resp: b(resp), expected };
}

const counters = (n: { v: number }): ParseCounters => ({ messages: () => {}, failures: (_p, _r, k) => (n.v += k), undetected: () => {}, evictedConnections: () => {}, connections: () => {} });

describe('redis parser properties', function () {
  // 100k cases: seconds on an idle core, more on a busy shared machine
  this.timeout(180000);
  it('any cut of a valid conversation into reads gives the same messages', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(command, reply), { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (pairs, rc, sc) => {
        const { req, resp, expected } = serialise(pairs);
        const whole = run([req], [resp]);
        const pieces = run(cut(req, rc), cut(resp, sc));
        const summary = (ms: L7Message[]): string[] => ms.map((m) => `${m.redis!.command} ${m.outcome}`);
        expect(summary(whole)).to.deep.equal(expected);
        expect(summary(pieces)).to.deep.equal(expected);
        expect(pieces.map((m) => [m.reqSeq, m.respSeq])).to.deep.equal(whole.map((m) => [m.reqSeq, m.respSeq]));
      }),
      { numRuns: 10000 },
    );
  });

  it('random and mutated bytes never throw and are counted', () => {
    const pool = fc.sample(fc.array(fc.tuple(command, reply), { minLength: 1, maxLength: 3 }), { numRuns: 64, seed: 11 }).map(serialise);
    const failures = { v: 0 };
    fc.assert(
      fc.property(fc.nat(63), fc.uint8Array({ maxLength: 16 }), fc.nat(), fc.nat(), fc.boolean(), (i, noise, where, cutAt, inRequest) => {
        const { req, resp } = pool[i];
        const target = inRequest ? req : resp;
        const mutated = insertNoise(target, noise, where);
        const e = new ParseEngine(defaultSettings(), counters(failures));
        e.add(inRequest ? clientRecords(cut(mutated, [cutAt]), [resp]) : clientRecords([req], cut(mutated, [cutAt])), 0);
        e.flush();
      }),
      { numRuns: 100000 },
    );
    expect(failures.v).to.be.greaterThan(0);
  });
});
