import { expect } from 'chai';
import fc from 'fast-check';
import { ScopeList, type MultiplexedSpan } from './scopes';

interface ModelScope {
  start: number;
  end: number;
  id: string;
  answered: boolean;
}

/** The scopes held, read through the list's positions. */
function contents(list: ScopeList): ModelScope[] {
  const out: ModelScope[] = [];
  for (let p = list.first; p < list.end; p++) {
    out.push({ start: list.start(p), end: list.endOf(p), id: list.threadTraceId(p), answered: list.answeredByReader(p) });
  }
  return out;
}

describe('scope list', () => {
  it('holds what an array of scope objects sorted by start would, through inserts and drops, and widens the multiplexed span over the scopes each insert overlaps', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), start: fc.integer({ min: 0, max: 1000 }), length: fc.integer({ min: 0, max: 50 }), answered: fc.boolean() }),
      // scopes nearly always arrive in start order
      fc.record({ kind: fc.constant('append' as const), after: fc.integer({ min: 0, max: 20 }), length: fc.integer({ min: 0, max: 50 }), answered: fc.boolean() }),
      fc.record({ kind: fc.constant('dropFirst' as const) }),
      fc.record({ kind: fc.constant('dropEndedBefore' as const), t: fc.integer({ min: 0, max: 1100 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const list = new ScopeList();
        let model: ModelScope[] = [];
        let n = 0;
        const span: MultiplexedSpan = { multiplexedFrom: Infinity, multiplexedTo: -Infinity };
        const modelSpan: MultiplexedSpan = { multiplexedFrom: Infinity, multiplexedTo: -Infinity };
        let maxDuration = 0;
        let lastStart = 0;
        for (const o of ops) {
          if (o.kind === 'insert' || o.kind === 'append') {
            const id = `id-${n++}`;
            const start = o.kind === 'insert' ? o.start : lastStart + o.after;
            lastStart = start;
            const end = start + o.length;
            const i = list.upperBound(start);
            expect(i - list.first).to.equal(model.filter((s) => s.start <= start).length);
            maxDuration = Math.max(maxDuration, o.length);
            const overlaps = model.filter((s) => !(start > s.end || s.start > end));
            for (const s of overlaps) {
              modelSpan.multiplexedFrom = Math.min(modelSpan.multiplexedFrom, start, s.start);
              modelSpan.multiplexedTo = Math.max(modelSpan.multiplexedTo, end, s.end);
            }
            list.widenOverOverlaps(span, i, start, end, maxDuration);
            expect(span).to.deep.equal(modelSpan);
            list.insert(i, start, end, id, o.answered);
            model.splice(i - list.first, 0, { start, end, id, answered: o.answered });
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
      { numRuns: 1000 },
    );
  });
});
