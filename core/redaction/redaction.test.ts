import { expect } from 'chai';
import fc from 'fast-check';
import { ALL_ARGUMENTS, maskHttpHeaderValues, redactCommandLine, redactQuery, redactSqlLiterals, redactSqlLiteralsInText, redactTarget, redisCommandHasSecrets, redisSecretArguments, sanitizeSql } from '.';

/** The arguments of `command` as they are kept: secret ones REDACTED. */
function redacted(command: string, ...args: string[]): string[] | typeof ALL_ARGUMENTS {
  const secrets = redisSecretArguments(command);
  if (secrets === ALL_ARGUMENTS) return secrets;
  return args.map((a) => (secrets?.(a.toUpperCase()) ? 'REDACTED' : a));
}

describe('redaction: Redis arguments', () => {
  it('AUTH keeps no argument at all', () => {
    expect(redacted('AUTH', 'user', 'pw')).to.equal(ALL_ARGUMENTS);
  });

  it('HELLO and MIGRATE: the credentials after AUTH / AUTH2', () => {
    expect(redacted('HELLO', '3', 'auth', 'default', 'pw', 'SETNAME', 'app')).to.deep.equal(['3', 'auth', 'REDACTED', 'REDACTED', 'SETNAME', 'app']);
    expect(redacted('MIGRATE', 'h', '6379', '', '0', '5000', 'REPLACE', 'AUTH', 'pw', 'KEYS', 'a')).to.deep.equal(['h', '6379', '', '0', '5000', 'REPLACE', 'AUTH', 'REDACTED', 'KEYS', 'a']);
    expect(redacted('MIGRATE', 'h', '6379', 'k', '0', '5000', 'AUTH2', 'u', 'pw')).to.deep.equal(['h', '6379', 'k', '0', '5000', 'AUTH2', 'REDACTED', 'REDACTED']);
  });

  it('ACL SETUSER: password and hash rules, never the user name', () => {
    expect(redacted('ACL SETUSER', '>x', 'on', '>pw', '<old', '#ab12', '!cd34', 'nopass', 'resetpass', '~*', '&ch', '+@all', '-debug')).to.deep.equal([
      '>x', 'on', 'REDACTED', 'REDACTED', 'REDACTED', 'REDACTED', 'nopass', 'resetpass', '~*', '&ch', '+@all', '-debug',
    ]);
  });

  it('CONFIG SET and SENTINEL: the values of password settings, whatever their case', () => {
    expect(redacted('CONFIG SET', 'RequirePass', 'a', 'maxmemory', '1gb', 'masterauth', 'b', 'primaryauth', 'c', 'tls-key-file-pass', 'd', 'tls-client-key-file-pass', 'e', 'masteruser', 'u')).to.deep.equal([
      'RequirePass', 'REDACTED', 'maxmemory', '1gb', 'masterauth', 'REDACTED', 'primaryauth', 'REDACTED', 'tls-key-file-pass', 'REDACTED', 'tls-client-key-file-pass', 'REDACTED', 'masteruser', 'u',
    ]);
    expect(redacted('SENTINEL', 'CONFIG', 'SET', 'sentinel-pass', 'a')).to.deep.equal(['CONFIG', 'SET', 'sentinel-pass', 'REDACTED']);
    expect(redacted('SENTINEL', 'SET', 'mymaster', 'auth-pass', 'b', 'quorum', '2')).to.deep.equal(['SET', 'mymaster', 'auth-pass', 'REDACTED', 'quorum', '2']);
  });

  it('leaves every other command alone, CONFIG GET included', () => {
    for (const c of ['GET', 'SET', 'CONFIG GET', 'ACL GETUSER', 'CLIENT SETNAME']) {
      expect(redisSecretArguments(c), c).to.equal(undefined);
      expect(redisCommandHasSecrets(c), c).to.equal(false);
    }
    for (const c of ['AUTH', 'HELLO', 'MIGRATE', 'ACL SETUSER', 'CONFIG SET', 'SENTINEL']) expect(redisCommandHasSecrets(c), c).to.equal(true);
  });
});

describe('redaction: SQL', () => {
  it('one statement text, whether or not the parser kept the literals', () => {
    const sql = "SELECT a FROM t /* alice */ WHERE b = 'x' AND c = -5 AND d = b'01' -- note";
    expect(redactSqlLiterals(sql)).to.equal('SELECT a FROM t WHERE b = ? AND c = ? AND d = ?');
    expect(redactSqlLiterals(sanitizeSql(sql, 2048, true).sql)).to.equal(redactSqlLiterals(sql));
    expect(redactSqlLiterals('SELECT ' + 'a, '.repeat(1000) + '1')).to.have.length(3008);
  });

  it('sanitising sanitised SQL changes nothing', () => {
    const piece = fc.constantFrom('SELECT', 'a', 't.b', '`q`', ' ', '  ', '\n', ',', '(', ')', '=', '-', '+', '*', "'s'", '"d"', '12', '1.5e3', '0xff', "x'0a'", "b'01'", '-- c\n', '/* c */', '#c\n', '?', 'IN', '.5');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (parts) => {
        const once = sanitizeSql(parts.join('') + ' x').sql;
        expect(sanitizeSql(once).sql).to.equal(once);
      }),
      { numRuns: 5000 },
    );
  });

  it('summaries find table keywords in any case, as upper-casing the word finds them', () => {
    expect(sanitizeSql('SELECT a, b fRoM `s`.t1 JOIN t2 ON 1 WHERE c IN (SELECT d from t3)').summary).to.equal('SELECT s.t1 t2 t3');
    // toUpperCase makes INTO of the dotless ı: a table follows, as it always did
    expect(sanitizeSql('SELECT a ınto t4, b FROM t5').summary).to.equal('SELECT t4 t5');
    expect(sanitizeSql('select x from fromage join intot').summary).to.equal('SELECT fromage intot');
  });

  it('server messages keep their prose', () => {
    expect(redactSqlLiteralsInText("Duplicate entry 'alice@x.io' for key 'email'")).to.equal('Duplicate entry ? for key ?');
    expect(redactSqlLiteralsInText("Table 'shop.nope' doesn't exist")).to.equal("Table ? doesn't exist");
  });
});

describe('redaction: HTTP', () => {
  it('redacts sensitive query values, names compared case-insensitively', () => {
    expect(redactQuery('a=1&Token=t&pass%77ord=p&x')).to.equal('a=1&Token=REDACTED&pass%77ord=REDACTED&x');
    expect(redactQuery('a=1&mine=2', new Set(['mine']))).to.equal('a=1&mine=REDACTED');
    expect(redactTarget('/p?sig=s')).to.equal('/p?sig=REDACTED');
    expect(redactTarget('/p')).to.equal('/p');
  });

  it('masks the values of credential headers in raw bytes, and nothing else', () => {
    const text = 'GET / HTTP/1.1\r\nAuthorization: Bearer abc\r\nX-Authorization-Hint: keep\r\nPROXY-AUTHORIZATION:Basic xyz\r\nCookie: a=1\r\n\r\n';
    const masked = Buffer.from(maskHttpHeaderValues(Buffer.from(text, 'latin1'))).toString('latin1');
    expect(masked).to.equal('GET / HTTP/1.1\r\nAuthorization:***********\r\nX-Authorization-Hint: keep\r\nPROXY-AUTHORIZATION:*********\r\nCookie:****\r\n\r\n');
    const response = Buffer.from('HTTP/1.1 200 OK\r\nSet-Cookie: s=1; HttpOnly\r\n\r\n');
    expect(Buffer.from(maskHttpHeaderValues(response)).toString()).to.equal('HTTP/1.1 200 OK\r\nSet-Cookie:**************\r\n\r\n');
    const plain = Buffer.from('+OK\r\n');
    expect(maskHttpHeaderValues(plain)).to.equal(plain);
  });
});

describe('redaction: process command lines', () => {
  it('redacts password-like values in every form they are passed', () => {
    expect(redactCommandLine(['mysql', '-uroot', '-psecret', '--password=abc', '--token', 't', 'plain', '-p'])).to.deep.equal(['mysql', '-uroot', '-pREDACTED', '--password=REDACTED', '--token', 'REDACTED', 'plain', '-p']);
    expect(redactCommandLine(['env', 'API_KEY=k', 'DB_PASSWORD=p', 'USER=me'])).to.deep.equal(['env', 'API_KEY=REDACTED', 'DB_PASSWORD=REDACTED', 'USER=me']);
  });
});
