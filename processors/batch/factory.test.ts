import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import { configFrom, testContext } from '../../test/helpers/context';
import { batchFactory, type BatchConfig } from './factory';

describe('batch processor', () => {
  it('counts spans in a traces pipeline and items elsewhere, as the Collector does', async () => {
    const config = configFrom<BatchConfig>(batchFactory, { send_batch_size: 4, send_batch_max_size: 4, timeout: '0s' });
    const trace = (n: number) => ({ traceId: String(n), spans: [{}, {}] as never[] });
    const run = async (signal?: 'traces') => {
      const { operator } = batchFactory.create(config, { ...testContext('processor', 'batch'), signal });
      return (await lastValueFrom(of([trace(1), trace(2), trace(3), trace(4), trace(5)]).pipe(operator, toArray()))).map((b) => b.length);
    };
    expect(await run('traces')).to.deep.equal([2, 2, 1]);
    expect(await run()).to.deep.equal([4, 1]);
  });
});
