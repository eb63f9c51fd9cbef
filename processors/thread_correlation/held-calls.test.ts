import { expect } from 'chai';
import fc from 'fast-check';
import type { L7Message } from '../../core/signals';
import { HeldCalls } from './held-calls';

describe('held calls', () => {
  it('gives calls back oldest first with their arrival times, as an array queue does, through growth, wrap-around and emptying', () => {
    // pushes and shifts in runs, so that the ring wraps, doubles while wrapped and empties after growing
    const op = fc.oneof(fc.record({ push: fc.integer({ min: 1, max: 200 }) }), fc.record({ shift: fc.integer({ min: 1, max: 200 }) }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const held = new HeldCalls();
        const model: { call: L7Message; arrivedMs: number }[] = [];
        let made = 0;
        for (const o of ops) {
          if ('push' in o) {
            for (let i = 0; i < o.push; i++, made++) {
              const call = { reqSeq: made } as L7Message;
              held.push(call, made * 1.5);
              model.push({ call, arrivedMs: made * 1.5 });
            }
          } else {
            for (let i = 0; i < o.shift && model.length > 0; i++) {
              const want = model.shift()!;
              expect(held.oldest()).to.equal(want.call);
              expect(held.oldestArrivedMs()).to.equal(want.arrivedMs);
              held.shift();
            }
          }
          expect(held.size).to.equal(model.length);
        }
      }),
      { numRuns: 200 },
    );
  });
});
