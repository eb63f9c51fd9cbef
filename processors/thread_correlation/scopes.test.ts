import { expect } from 'chai';
import fc from 'fast-check';
import { ScopeList } from './scopes';

interface ModelScope {
  start: number;
  end: number;
  id: string;
  linkable: boolean;
  answered: boolean;
}

/** The scopes held, read through the list's positions. */
function contents(list: ScopeList): ModelScope[] {
  const out: ModelScope[] = [];
  for (let p = list.first; p < list.end; p++) {
    out.push({ start: list.start(p), end: list.endOf(p), id: list.threadTraceId(p), linkable: list.linkable(p), answered: list.answeredByReader(p) });
  }
  return out;
}

describe('scope list', () => {
  it('holds what an array of scope objects sorted by start would, through inserts, marks and drops', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), start: fc.integer({ min: 0, max: 1000 }), length: fc.integer({ min: 0, max: 50 }), answered: fc.boolean() }),
      fc.record({ kind: fc.constant('mark' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('dropFirst' as const) }),
      fc.record({ kind: fc.constant('dropEndedBefore' as const), t: fc.integer({ min: 0, max: 1100 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const list = new ScopeList();
        let model: ModelScope[] = [];
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'insert') {
            const id = `id-${n++}`;
            const i = list.upperBound(o.start);
            expect(i - list.first).to.equal(model.filter((s) => s.start <= o.start).length);
            list.insert(i, o.start, o.start + o.length, id, o.answered);
            model.splice(i - list.first, 0, { start: o.start, end: o.start + o.length, id, linkable: o.answered, answered: o.answered });
          } else if (o.kind === 'mark') {
            if (model.length === 0) continue;
            const k = o.at % model.length;
            list.markUnlinkable(list.first + k);
            model[k].linkable = false;
          } else if (o.kind === 'dropFirst') {
            list.dropFirst();
            model.shift();
          } else {
            let k = 0;
            while (k < model.length && model[k].end < o.t) k++;
            expect(list.dropEndedBefore(o.t)).to.equal(k);
            model = model.slice(k);
          }
          expect(list.size).to.equal(model.length);
        }
        expect(contents(list)).to.deep.equal(model);
      }),
      { numRuns: 300 },
    );
  });
});
