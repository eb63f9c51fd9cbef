import { expect } from 'chai';
import { RecencyList } from './recency-list';

interface Item {
  name: string;
  older: Item | undefined;
  newer: Item | undefined;
}

const item = (name: string): Item => ({ name, older: undefined, newer: undefined });

function names(list: RecencyList<Item>): string[] {
  const out: string[] = [];
  for (let i = list.oldest; i; i = i.newer) out.push(i.name);
  return out;
}

describe('RecencyList', () => {
  it('keeps items in order of last use: append, touch, unlink', () => {
    const list = new RecencyList<Item>();
    const [a, b, c] = ['a', 'b', 'c'].map(item);
    for (const i of [a, b, c]) list.append(i);
    expect(names(list)).to.deep.equal(['a', 'b', 'c']);
    list.touch(a);
    expect(names(list)).to.deep.equal(['b', 'c', 'a']);
    list.touch(a);
    expect(names(list)).to.deep.equal(['b', 'c', 'a']);
    list.unlink(c);
    expect(names(list)).to.deep.equal(['b', 'a']);
    expect([c.older, c.newer]).to.deep.equal([undefined, undefined]);
    list.unlink(b);
    list.unlink(a);
    expect([list.oldest, list.newest]).to.deep.equal([undefined, undefined]);
  });
});
