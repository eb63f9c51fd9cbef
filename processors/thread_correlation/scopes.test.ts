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

/** The span widened over a scope about to be added and every scope held that it overlaps, when it overlaps any. */
function widenedByModel(span: MultiplexedSpan, model: readonly ModelScope[], start: number, end: number): void {
  for (const s of model) {
    if (start > s.end || s.start > end) continue;
    span.multiplexedFrom = Math.min(span.multiplexedFrom, start, s.start);
    span.multiplexedTo = Math.max(span.multiplexedTo, end, s.end);
  }
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
            widenedByModel(modelSpan, model, start, end);
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
  it('widens the span as the model does when an event loop answers each turn newest first (Redis), with slow and lone requests between turns', () => {
    // A turn reads `reads` requests one after another and answers them in reverse: each scope arrives before the turn's later ones.
    const turn = fc.record({
      gap: fc.integer({ min: 0, max: 400 }),
      reads: fc.integer({ min: 1, max: 12 }),
      readGap: fc.integer({ min: 0, max: 5 }),
      writeGap: fc.integer({ min: 0, max: 5 }),
      slow: fc.integer({ min: 0, max: 300 }),
      maxScopes: fc.integer({ min: 4, max: 64 }),
    });
    fc.assert(
      fc.property(fc.array(turn, { maxLength: 60 }), fc.integer({ min: 0, max: 600 }), (turns, dropBefore) => {
        const list = new ScopeList();
        let model: ModelScope[] = [];
        const span: MultiplexedSpan = { multiplexedFrom: Infinity, multiplexedTo: -Infinity };
        const modelSpan: MultiplexedSpan = { multiplexedFrom: Infinity, multiplexedTo: -Infinity };
        let maxDuration = 0;
        let t = 0;
        for (const [k, o] of turns.entries()) {
          t += o.gap;
          const reads = Array.from({ length: o.reads }, (_, i) => t + i * o.readGap);
          t = reads[reads.length - 1] + o.slow;
          for (let i = o.reads - 1; i >= 0; i--) {
            t += o.writeGap;
            const start = reads[i];
            const end = t;
            const at = list.upperBound(start);
            maxDuration = Math.max(maxDuration, end - start);
            widenedByModel(modelSpan, model, start, end);
            list.widenOverOverlaps(span, at, start, end, maxDuration);
            expect(span).to.deep.equal(modelSpan);
            list.insert(at, start, end, `id-${k}-${i}`, true);
            model.splice(at - list.first, 0, { start, end, id: `id-${k}-${i}`, answered: true });
            if (list.size > o.maxScopes) {
              list.dropFirst();
              model.shift();
            }
          }
          if (k % 7 === 6) {
            // forgotten by age: the leading scopes that ended before
            let dropped = 0;
            while (dropped < model.length && model[dropped].end < t - dropBefore) dropped++;
            expect(list.dropEndedBefore(t - dropBefore)).to.equal(dropped);
            model = model.slice(dropped);
          }
          expect(contents(list)).to.deep.equal(model);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
