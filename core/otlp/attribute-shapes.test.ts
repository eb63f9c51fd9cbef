import { expect } from 'chai';
import { KeyTable, ShapeTable } from './attribute-shapes';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('core/otlp attribute shapes', () => {
  it('interns keys by their bytes: the same id and one string for equal keys wherever they lie', () => {
    const keys = new KeyTable();
    const a = keys.intern(bytes('xx http.method yy'), 3, 14);
    const b = keys.intern(bytes('http.method'), 0, 11);
    expect(a).to.equal(b);
    expect(keys.name(a)).to.equal('http.method');
    expect(keys.intern(bytes('http.methoe'), 0, 11)).to.not.equal(a);
    expect(keys.name(keys.intern(bytes('clé'), 0, 4))).to.equal('clé');
    // a guess is only a shortcut: a wrong one still finds the right key
    expect(keys.intern(bytes('http.method'), 0, 11, a)).to.equal(a);
    expect(keys.intern(bytes('clé'), 0, 4, a)).to.equal(keys.intern(bytes('clé'), 0, 4));
  });

  it('leaves keys uninterned that are too long or not UTF-8', () => {
    const keys = new KeyTable();
    expect(keys.intern(bytes('k'.repeat(65)), 0, 65)).to.equal(-1);
    expect(keys.intern(Buffer.from([0x6b, 0xc3]), 0, 2)).to.equal(-1);
  });

  it('builds objects of one shape with one builder, as assignment would build them', () => {
    const keys = new KeyTable();
    const shapes = new ShapeTable(keys);
    const ids = ['a', 'b', '7', 'a'].map((k) => keys.intern(bytes(k), 0, k.length));
    const one = shapes.build(ids, [1, 'x', true, 2], 4)!;
    const two = shapes.build(ids, [3, 'y', false, 4], 4)!;
    const assigned: Record<string, unknown> = {};
    for (const [k, v] of [['a', 1], ['b', 'x'], ['7', true], ['a', 2]] as const) assigned[k] = v;
    expect(one).to.deep.equal(assigned);
    expect(Object.keys(one)).to.deep.equal(Object.keys(assigned));
    expect(two).to.deep.equal({ a: 4, b: 'y', 7: false });
    expect(shapes.build(ids, [1, 'x', true], 3)).to.deep.equal({ a: 1, b: 'x', 7: true });
  });

  it('never puts a key into code: quotes, backslashes, line separators and __proto__', () => {
    const keys = new KeyTable();
    const shapes = new ShapeTable(keys);
    const odd = ['"}); throw 1; ({"', '\\', 'a\u2028b', '`${x}`'];
    const ids = odd.map((k) => keys.intern(bytes(k), 0, bytes(k).length));
    const built = shapes.build(ids, [1, 2, 3, 4], 4)!;
    expect(Object.keys(built)).to.deep.equal(odd);
    const proto = keys.intern(bytes('__proto__'), 0, 9);
    expect(shapes.build([proto], [{ polluted: true }], 1)).to.equal(undefined);
  });
});
