import { expect } from 'chai';
import { sanitizeSql } from '../../../core/redaction';
import { SqlSummaries } from './sql-summaries';

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
});
