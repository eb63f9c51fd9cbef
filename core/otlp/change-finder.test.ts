import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import type { Attributes } from '../signals';
import { ChangeFinders } from './change-finder';

describe('core/otlp ChangeFinders', () => {
  const find = (keys: string[], values: unknown[], attrs: Attributes): [number, number[], unknown[]] => {
    const finder = new ChangeFinders().get(keys, keys.length)!;
    const changed = new Int32Array(8);
    const changedValues: unknown[] = [];
    const n = finder(attrs, keys, values, changed, changedValues);
    return [n, [...changed.subarray(0, Math.max(n, 0))], changedValues.slice(0, Math.max(n, 0))];
  };

  it('finds the places whose value is not the one held', () => {
    const symbol = Symbol('never equal');
    expect(find(['a', 'b', 'c.d', 'e'], [1, 'x', true, symbol], { a: 1, b: 'y', 'c.d': true, e: [1] })).to.deep.equal([2, [1, 3], ['y', [1]]]);
    expect(find(['a', 'b'], [1, 'x'], { a: 1, b: 'x' })).to.deep.equal([0, [], []]);
  });

  it('gives -1 for other keys, in order or number', () => {
    expect(find(['a', 'b'], [1, 2], { b: 2, a: 1 })[0]).to.equal(-1);
    expect(find(['a', 'b'], [1, 2], { a: 1 })[0]).to.equal(-1);
    expect(find(['a', 'b'], [1, 2], { a: 1, b: 2, c: 3 })[0]).to.equal(-1);
  });

  it('compiles no finder for a key read by name as the prototype, and keys that are not identifiers safely', () => {
    expect(new ChangeFinders().get(['a', '__proto__'], 2)).to.equal(undefined);
    const odd = ['"); throw 1; ("', '\u2028', 'x\\'];
    expect(find(odd, [1, 2, 3], { [odd[0]]: 1, [odd[1]]: 5, [odd[2]]: 3 })).to.deep.equal([1, [1], [5]]);
  });

  it('compiles none where node disallows code from strings, so that lists are compared by the generic loop', () => {
    const script = `const { ChangeFinders } = require(${JSON.stringify(require.resolve('./change-finder'))});
process.stdout.write(String(new ChangeFinders().get(['a', 'b'], 2)));`;
    const child = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--require', 'tsx/cjs', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).to.equal('');
    expect(child.stdout).to.equal('undefined');
  });
});
