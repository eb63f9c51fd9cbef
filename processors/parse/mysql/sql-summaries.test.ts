import { expect } from 'chai';
import { sanitizeSql, type SqlSummary } from '../../../core/redaction';
import { bytesHash, SqlSummaries } from './sql-summaries';

describe('SqlSummaries', () => {
  it('gives what sanitizeSql gives, made once per statement text', () => {
    const s = new SqlSummaries(2048, false);
    const sql = "SELECT name FROM users WHERE id = 3 AND note = 'x'";
    const first = s.of(sql);
    expect(first).to.deep.equal(sanitizeSql(sql, 2048, false));
    expect(s.of(sql.slice(0))).to.equal(first);
  });

  it('honours the length and literal settings', () => {
    const sql = 'SELECT a FROM t WHERE b = 42';
    expect(new SqlSummaries(10, false).of(sql)).to.deep.equal(sanitizeSql(sql, 10, false));
    expect(new SqlSummaries(2048, true).of(sql)).to.deep.equal(sanitizeSql(sql, 2048, true));
  });

  it('stays bounded: cleared when full, long texts never kept', () => {
    const s = new SqlSummaries(2048, false, 2);
    const a = s.of('SELECT 1');
    s.of('SELECT 2');
    s.of('SELECT 3'); // full: cleared, then kept
    expect(s.of('SELECT 1')).to.not.equal(a);
    const long = `SELECT ${'x, '.repeat(300)}y FROM t`;
    expect(s.of(long)).to.not.equal(s.of(long));
    expect(s.of(long)).to.deep.equal(sanitizeSql(long, 2048, false));
  });

  it('finds a statement by its bytes: the summary of their UTF-8 text, kept from its second coming', () => {
    const s = new SqlSummaries(2048, false);
    const sql = "SELECT nom FROM clients WHERE ville = 'Orléans' AND id = 7";
    const wire = Buffer.concat([Buffer.from([3]), Buffer.from(sql), Buffer.from([0])]);
    expect(s.ofUtf8(wire, 1, wire.length - 1)).to.deep.equal(sanitizeSql(sql, 2048, false));
    const kept = s.ofUtf8(wire, 1, wire.length - 1);
    expect(kept).to.deep.equal(sanitizeSql(sql, 2048, false));
    // the same bytes elsewhere (another packet), not the same buffer
    expect(s.ofUtf8(Uint8Array.from(wire), 1, wire.length - 1)).to.equal(kept);
    // a different statement of the same length, and a prefix, are not taken for it
    const other = Buffer.from(sql.replace('7', '8'));
    expect(s.ofUtf8(other, 0, other.length)).to.deep.equal(sanitizeSql(sql.replace('7', '8'), 2048, false));
    expect(s.ofUtf8(wire, 1, wire.length - 2)).to.deep.equal(sanitizeSql(sql.slice(0, -1), 2048, false));
    // cut by the end of the buffer; nothing at all
    expect(s.ofUtf8(wire, 1, wire.length + 10)).to.deep.equal(sanitizeSql(sql + '\0', 2048, false));
    expect(s.ofUtf8(wire, 5, 5)).to.deep.equal(sanitizeSql('', 2048, false));
  });

  it('keeps at most its limit of statements by bytes, and long ones not at all', () => {
    const s = new SqlSummaries(2048, false, 2);
    const bytes = (t: string): Buffer => Buffer.from(t);
    const twice = (b: Buffer): SqlSummary => (s.ofUtf8(b, 0, b.length), s.ofUtf8(b, 0, b.length));
    const one = bytes('SELECT 1');
    const a = twice(one);
    expect(s.ofUtf8(one, 0, one.length)).to.equal(a);
    twice(bytes('SELECT 2'));
    twice(bytes('SELECT 3')); // full: cleared, then kept
    expect(s.ofUtf8(one, 0, one.length)).to.not.equal(a);
    const long = bytes(`SELECT ${'x, '.repeat(300)}y FROM t`);
    expect(s.ofUtf8(long, 0, long.length)).to.not.equal(s.ofUtf8(long, 0, long.length));
    expect(s.ofUtf8(long, 0, long.length)).to.deep.equal(sanitizeSql(long.toString(), 2048, false));
  });

  it('does not keep statements that come once: they push out none that repeat', () => {
    const s = new SqlSummaries(2048, false, 2);
    const hot = Buffer.from('SELECT a FROM t WHERE b = ?');
    s.ofUtf8(hot, 0, hot.length);
    const kept = s.ofUtf8(hot, 0, hot.length);
    for (let i = 0; i < 100; i++) {
      const once = Buffer.from(`SELECT a FROM t WHERE b = ${i}`);
      expect(s.ofUtf8(once, 0, once.length)).to.deep.equal(sanitizeSql(once.toString(), 2048, false));
    }
    expect(s.ofUtf8(hot, 0, hot.length)).to.equal(kept);
  });

  it('keeps only a few statements that share a hash of their bytes, and finds them all', () => {
    const sharing = statementsSharingAHash(8);
    for (const b of sharing) expect(bytesHash(b, 0, 8)).to.equal(bytesHash(sharing[0], 0, 8));
    const s = new SqlSummaries(2048, false);
    const first = sharing.map((b) => (s.ofUtf8(b, 0, 8), s.ofUtf8(b, 0, 8)));
    sharing.forEach((b, i) => {
      const again = s.ofUtf8(b, 0, 8);
      expect(again).to.deep.equal(sanitizeSql(Buffer.from(b).toString(), 2048, false));
      // the first four are kept; the others are sanitised each time
      if (i < 4) expect(again).to.equal(first[i]);
      else expect(again).to.not.equal(first[i]);
    });
  });
});

/** `count` statements of 8 bytes with one bytesHash: the hash's steps undone from a chosen result. */
function statementsSharingAHash(count: number): Uint8Array[] {
  const K = 0x01000193;
  let inverse = K; // K * inverse = 1 (mod 2^32), by Newton's iteration
  for (let i = 0; i < 5; i++) inverse = Math.imul(inverse, 2 - Math.imul(K, inverse));
  const target = 0x12345678;
  // the final mix x ^ (x >>> 15), undone
  const premix = (target ^ (target >>> 15) ^ (target >>> 30)) >>> 0;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const first = 0x4c4553 | ((0x30 + i) << 24); // 'SEL' and a digit
    const h1 = Math.imul(8 ^ first, K);
    const second = Math.imul(premix, inverse) ^ h1;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setInt32(0, first, true);
    new DataView(b.buffer).setInt32(4, second, true);
    out.push(b);
  }
  return out;
}
