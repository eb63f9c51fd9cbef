import { expect } from 'chai';
import { ConnectionTable } from './connection-table';

const conn = (id: string): { id: string; slot: number } => ({ id, slot: -1 });

describe('ConnectionTable', () => {
  it('finds what was added by id, forgets what was deleted, and reuses freed slots', () => {
    const t = new ConnectionTable<{ id: string; slot: number }>();
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
    expect(a2.slot).to.equal(a.slot);
    expect(t.get('a')).to.equal(a2);
    expect(t.get('b')).to.equal(b);
  });
});
