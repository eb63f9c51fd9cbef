import { expect } from 'chai';
import { SlotIndex } from './slot-index';
import { NONE } from './slots';

describe('linking SlotIndex', () => {
  // eight keys to a first cell: runs are long, and removals move cells back along them; first cells
  // from the table's start, or from its end down (runs wrap around the end)
  for (const [where, spread] of [
    ['from the start', (hash: number) => hash >>> 3],
    ['wrapping around the end', (hash: number) => -1 - (hash >>> 3)],
  ] as const) {
    it(`agrees with a Map through adds, replacements and removals, as the table grows (runs ${where})`, () => {
      agreesWithMap(new SlotIndex(spread));
    });
  }
});

function agreesWithMap(index: SlotIndex): void {
  const ref = new Map<number, number>();
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    return (seed >>> 8) % n;
  };
  const key = () => rand(5000);
  for (let i = 0; i < 50_000; i++) {
    const k = key();
    const op = rand(3);
    if (!ref.has(k)) {
      expect(index.get(k)).to.equal(NONE);
      expect(index.firstOrAdd(k, i)).to.equal(NONE);
      ref.set(k, i);
    } else if (op === 0) {
      expect(index.replaceFirst(k, ref.get(k)!, NONE)).to.equal(ref.get(k));
      ref.delete(k);
    } else if (op === 1) {
      expect(index.firstOrAdd(k, i)).to.equal(ref.get(k));
      // not its first: left as it is
      expect(index.replaceFirst(k, -5, i)).to.equal(ref.get(k));
    } else {
      expect(index.replaceFirst(k, ref.get(k)!, i)).to.equal(ref.get(k));
      ref.set(k, i);
    }
    expect(index.get(k)).to.equal(ref.get(k) ?? NONE);
  }
  expect(index.size).to.equal(ref.size);
  for (const [k, v] of ref) expect(index.get(k)).to.equal(v);
}
