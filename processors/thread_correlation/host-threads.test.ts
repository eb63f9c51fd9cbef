import { expect } from 'chai';
import fc from 'fast-check';
import { HostThreads, ThreadTimeline } from './host-threads';

describe('host threads', () => {
  it('finds, orders and forgets timelines as a Map in order of last activity does, through adds, touches and deletes', () => {
    // a hundred-odd keys, so that the table grows, probes collide and deletes shift runs; thread keys as timeline.ts makes them (Go goroutines negative)
    const key = fc.oneof(
      fc.integer({ min: 1, max: 60 }).map((tid) => 4242 * 4194304 + tid),
      fc.integer({ min: 1, max: 60 }).map((utid) => -(4242 * 4294967296 + utid)),
    );
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), key }),
      fc.record({ kind: fc.constant('touch' as const), key }),
      fc.record({ kind: fc.constant('delete' as const), key }),
      fc.record({ kind: fc.constant('deleteOldest' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600, size: 'max' }), (ops) => {
        const threads = new HostThreads();
        // insertion order is the order of last activity: a touched key is deleted and set again
        const model = new Map<number, ThreadTimeline>();
        for (const o of ops) {
          if (o.kind === 'deleteOldest') {
            const t = threads.leastRecentlyActive();
            expect(t).to.equal(model.values().next().value);
            if (t) {
              threads.delete(t);
              model.delete(t.key);
            }
            continue;
          }
          const held = threads.get(o.key);
          expect(held).to.equal(model.get(o.key));
          if (o.kind === 'add' && !held) {
            const t = new ThreadTimeline(o.key);
            threads.add(t);
            model.set(o.key, t);
          } else if (o.kind === 'touch' && held) {
            threads.touch(held);
            model.delete(o.key);
            model.set(o.key, held);
          } else if (o.kind === 'delete' && held) {
            threads.delete(held);
            model.delete(o.key);
          }
        }
        expect(threads.size).to.equal(model.size);
        for (const [k, t] of model) expect(threads.get(k)).to.equal(t);
        const visited: ThreadTimeline[] = [];
        threads.forEach((t) => {
          visited.push(t);
          threads.delete(t); // deleting the one visited is allowed
        });
        expect(visited).to.have.ordered.members([...model.values()]);
        expect(threads.size).to.equal(0);
      }),
      { numRuns: 300 },
    );
  });
});
