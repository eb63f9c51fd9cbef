import { expect } from 'chai';
import fc from 'fast-check';
import type { L7Message } from '../../../core/signals';
import { INVALID, NEED_MORE } from '../decoder';
import { detect } from '../detect';
import { PROTOCOLS } from '../factory';
import { ParseEngine, type ParseCounters } from '../processor';
import { Conversation, clientRecords, cut, defaultSettings, insertNoise } from '../../../test/helpers/parse';
import { T_ARRAY, T_BULK, T_ERROR, T_MAP, isCommandName, looksLikeRequest, parseInline, parseToken, type Token } from './parser';

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
    // a PostgreSQL CommandComplete and ReadyForQuery, read from the tag on
    expect(looksLikeRequest(b('SELECT 2\0Z\0\0\0\x05I'), 0, 15)).to.equal(false);
    expect(looksLikeRequest(b('SET key\tvalue\r\n'), 0, 15)).to.equal(true);
    expect(parseInline(b('set  a b\r\n'), 0, 10)).to.deep.include({ len: 10 });
  });

  it('tells commands from replies that are arrays of bulk strings: the first element names a command, every element is a bulk string', () => {
    const request = (s: string): boolean => looksLikeRequest(b(s), 0, s.length);
    const bulk = (x: string): string => `$${x.length}\r\n${x}\r\n`;
    const replies = {
      HGETALL: cmd('name', 'ada', 'role', 'get'),
      LRANGE: cmd('a', 'set', 'del'),
      SMEMBERS: cmd('member'),
      'MGET with a miss': `*2\r\n${bulk('get')}$-1\r\n`,
      'CONFIG GET': cmd('maxmemory', '0'),
      'pub/sub message': cmd('message', 'get', 'hi'),
      'pub/sub pmessage': cmd('pmessage', 'news.*', 'news.1', 'hi'),
      'sharded message': cmd('smessage', 'ch', 'hi'),
      'subscribe confirmation': `*3\r\n${bulk('subscribe')}${bulk('ch')}:1\r\n`,
      'unsubscribe from nothing': `*3\r\n${bulk('unsubscribe')}$-1\r\n:0\r\n`,
      // the count not in these bytes yet: a confirmation or SUBSCRIBE of two channels, so not taken
      'confirmation cut before its count': `*3\r\n${bulk('subscribe')}${bulk('ch')}`,
      'confirmation cut in its channel': `*3\r\n${bulk('subscribe')}$2\r\nc`,
      'pong while subscribed': cmd('pong', ''),
      'unknown command': cmd('FOOBAR', 'x'),
      'unknown module': cmd('XX.GET', 'k'),
      'module prefix alone': cmd('JSON.', 'k'),
      'nested array': `*2\r\n*1\r\n${bulk('get')}:1\r\n`,
      'command name cut, another length': `*2\r\n$4\r\nge`,
      'inline word that is no command': 'hello-world x\r\n',
      // the text of a reply's value, then the next value: a record that starts inside a reply
      'inline line followed by RESP': 'set the table\r\n$3\r\nfoo\r\n',
    };
    for (const [name, bytes] of Object.entries(replies)) expect(request(bytes), name).to.equal(false);
    const commands = {
      GET: cmd('GET', 'k'),
      'lower case': cmd('hgetall', 'h'),
      'mixed case': cmd('LRange', 'l', '0', '-1'),
      'SUBSCRIBE two channels': cmd('SUBSCRIBE', 'a', 'b'),
      'RedisJSON': cmd('JSON.GET', 'doc', '$'),
      'RediSearch, lower case': cmd('ft.search', 'idx', '*'),
      TimeSeries: cmd('TS.ADD', 'temp', '*', '21'),
      RedisBloom: cmd('BF.ADD', 'seen', 'x'),
      'Redis 8 hash field expiry': cmd('HGETEX', 'h', 'EX', '10', 'FIELDS', '1', 'f'),
      'a large value not all captured': cmd('SET', 'k', 'v'.repeat(10000)).slice(0, 4096),
      'arguments cut short': cmd('MSET', 'a', '1', 'b', '2').slice(0, 20),
      'command name cut short': `*2\r\n$3\r\nGE`,
      inline: 'ping\r\n',
      'inline with arguments': 'hgetall h\r\n',
      'inline module command': 'JSON.GET doc $\r\n',
      'pipelined inline commands': 'SET a 1\r\nGET a\r\n',
    };
    for (const [name, bytes] of Object.entries(commands)) expect(request(bytes), name).to.equal(true);
    // detection: a reply says nothing about the side, a command does
    const all = new Set(PROTOCOLS);
    for (const [name, bytes] of Object.entries(replies)) expect(detect(b(bytes), all), name).to.equal(undefined);
    expect(detect(b(commands.GET), all)).to.deep.equal({ protocol: 'redis', isRequest: true });
  });

  it('a connection joined at a reply that is an array of bulk strings: the side comes from the next command', () => {
    for (const view of ['client', 'server'] as const) {
      const c = new Conversation('cd'.repeat(16), 'unknown');
      const send = (req: string, reply: string): void => {
        if (view === 'client') {
          c.write(req);
          c.read(reply);
        } else {
          c.read(req);
          c.write(reply);
        }
      };
      send(cmd('HGETALL', 'user:1'), cmd('name', 'ada', 'role', 'get'));
      send(cmd('LRANGE', 'jobs', '0', '-1'), cmd('one', 'del'));
      send(cmd('GET', 'k'), '$1\r\nv\r\n');
      c.close();
      const e = new ParseEngine(defaultSettings());
      const ms = [...e.add(c.records.slice(1), 0), ...e.flush()];
      expect(ms.map((m) => `${m.role} ${m.redis!.command} ${m.outcome}`), view).to.deep.equal([`${view} LRANGE ok`, `${view} GET ok`]);
    }
  });

  it('after lost request bytes, starts again at a command, not at a value that reads as an array reply', () => {
    const c = new Conversation('ab'.repeat(16), 'client');
    c.write(cmd('GET', 'a'));
    c.read('$1\r\nx\r\n');
    // a value holding RESP text; the probe kept only the head of the write before it
    const value = cmd('name', 'ada', 'role', 'admin');
    const set = cmd('SET', 'k', value);
    c.write(set.slice(0, set.indexOf(value)), 20);
    c.write(set.slice(set.indexOf(value)));
    c.read('+OK\r\n');
    c.write(cmd('GET', 'b'));
    c.read('$1\r\ny\r\n');
    c.close();
    const e = new ParseEngine(defaultSettings());
    const ms = [...e.add(c.records, 0), ...e.flush()];
    expect(ms.map((m) => `${m.redis!.command} ${m.outcome}`)).to.deep.equal(['GET ok', 'SET ok', 'GET ok']);
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

  it('a top-level attribute and the value it describes are one reply, starting at the attribute', () => {
    const attribute = '|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n';
    const empty = '|0\r\n';
    const ms = run(cmd('GET', 'a') + cmd('GET', 'b') + cmd('GET', 'c'), attribute + '-ERR no\r\n' + empty + '$1\r\nv\r\n' + '+OK\r\n');
    const at = 5000; // clientRecords' first response byte
    const second = at + attribute.length + '-ERR no\r\n'.length;
    expect(ms.map((m) => [m.redis!.errorPrefix ?? '-', m.outcome, m.respSeq])).to.deep.equal([
      ['ERR', 'error', at],
      ['-', 'ok', second],
      ['-', 'ok', second + empty.length + '$1\r\nv\r\n'.length],
    ]);
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

  // replies that are arrays: fields and values of any name (command names too), not a command name first
  const name = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz.:_-0123456789'.split('')), maxLength: 12 });
  const bulk = (x: string): string => `$${Buffer.byteLength(x)}\r\n${x}\r\n`;
  const value = fc.oneof(name, fc.constantFrom('get', 'SET', 'del', 'subscribe', 'message', 'json.get', 'ping'));
  const element = fc.oneof(value.map(bulk), fc.constant('$-1\r\n'), fc.integer().map((n) => `:${n}\r\n`));
  const first = fc.oneof(
    name.filter((x) => !isCommandName(b(x), 0, x.length)).map(bulk),
    fc.constant('$-1\r\n'),
    fc.integer().map((n) => `:${n}\r\n`),
  );
  const arrayReply = fc.tuple(first, fc.array(element, { maxLength: 8 })).map(([head, rest]) => `*${rest.length + 1}\r\n${head}${rest.join('')}`);
  const pushReply = fc.oneof(
    fc.tuple(value, value).map(([ch, v]) => cmd('message', ch, v)),
    fc.tuple(value, value, value).map(([pattern, ch, v]) => cmd('pmessage', pattern, ch, v)),
    fc.tuple(value, value).map(([ch, v]) => cmd('smessage', ch, v)),
    fc.tuple(fc.constantFrom('subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe'), value, fc.nat(99)).map(([kind, ch, n]) => `*3\r\n${bulk(kind)}${bulk(ch)}:${n}\r\n`),
  );
  const listReply = fc.oneof(arrayReply, pushReply);

  it('a reply that is an array (HGETALL, LRANGE, MGET, pub/sub) is never taken for a command', () => {
    const all = new Set(PROTOCOLS);
    fc.assert(
      fc.property(listReply, (r) => {
        expect(looksLikeRequest(b(r), 0, r.length)).to.equal(false);
        expect(detect(b(r), all)).to.equal(undefined);
      }),
      { numRuns: 20000 },
    );
  });

  it('a connection joined at any record, seen from either end: every message has the side of that end', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(command, fc.oneof(listReply, reply)), { minLength: 1, maxLength: 5 }), fc.constantFrom('client', 'server'), fc.nat(), (pairs, view, from) => {
        const c = new Conversation('ef'.repeat(16), 'unknown');
        for (const [[name, args], r] of pairs) {
          const req = cmd(name, ...args);
          if (view === 'client') {
            c.write(req);
            c.read(r);
          } else {
            c.read(req);
            c.write(r);
          }
        }
        c.close();
        const e = new ParseEngine(defaultSettings());
        const ms = [...e.add(c.records.slice(from % c.records.length), 0), ...e.flush()];
        expect(ms.filter((m) => m.role !== view).map((m) => m.redis!.command)).to.deep.equal([]);
      }),
      { numRuns: 5000 },
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
