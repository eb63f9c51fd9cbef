import { expect } from 'chai';
import { ConnectionTable } from './connection-table';

const conn = (id: string): { id: string } => ({ id });

describe('ConnectionTable', () => {
  it('finds what was added by id and forgets what was deleted', () => {
    const t = new ConnectionTable<{ id: string }>();
    const a = conn('a');
    const b = conn('b');
    t.add(a);
    t.add(b);
    expect(t.get('a')).to.equal(a);
    expect(t.get('b')).to.equal(b);
    expect(t.size).to.equal(2);
    t.delete(a);
    expect(t.get('a')).to.equal(undefined);
    expect(t.size).to.equal(1);
    const a2 = conn('a');
    t.add(a2);
    expect(t.get('a')).to.equal(a2);
    expect(t.get('b')).to.equal(b);
  });

  it('keeps every live id findable through growth and deletions inside probe runs', () => {
    // ids that share their last eight characters share a hash: long probe runs, shifted back on delete
    const t = new ConnectionTable<{ id: string }>(4);
    const live = new Map<string, { id: string }>();
    let seed = 7;
    const next = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed % n);
    for (let step = 0; step < 20000; step++) {
      const id = next(3) === 0 ? `${next(300)}-same-end` : `c${next(600)}`;
      const held = live.get(id);
      if (held) {
        t.delete(held);
        live.delete(id);
      } else {
        const item = conn(id);
        t.add(item);
        live.set(id, item);
      }
      if (step % 97 === 0) for (const [k, v] of live) expect(t.get(k)).to.equal(v);
      expect(t.size).to.equal(live.size);
    }
    for (let i = 0; i < 600; i++) expect(t.get(`c${i}`)).to.equal(live.get(`c${i}`));
  });
});
