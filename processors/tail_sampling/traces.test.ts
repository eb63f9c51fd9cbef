import { expect } from 'chai';
import { Decision } from './policies/policy';
import { hashOf, held, NOT_HELD, TraceTable } from './traces';

const id = (i: number) => i.toString(16).padStart(32, '0');

describe('tail_sampling TraceTable', () => {
  it('holds the `capacity` most recent traces, the oldest pushed out by a new one', () => {
    const table = new TraceTable(100);
    for (let i = 0; i < 1000; i++) table.admitDecided(id(i), hashOf(id(i)), i % 2 ? Decision.Sampled : Decision.NotSampled);
    expect(table.size).to.equal(100);
    expect(table.find(id(899), hashOf(id(899)))).to.equal(NOT_HELD);
    for (let i = 900; i < 1000; i++) expect(table.decision(table.find(id(i), hashOf(id(i))))).to.equal(i % 2 ? Decision.Sampled : Decision.NotSampled);
  });

  it('hands back an undecided trace it pushes out, and forgets a decided one quietly', () => {
    const table = new TraceTable(2);
    const a = held({ traceId: 'trace-a', spans: [] }, 0);
    const b = held({ traceId: 'trace-b', spans: [] }, 0);
    expect(table.admitUndecided('trace-a', hashOf('trace-a'), a)).to.equal(undefined);
    expect(table.admitUndecided('trace-b', hashOf('trace-b'), b)).to.equal(undefined);
    table.decide(b, Decision.Sampled);
    expect(table.decision(table.find('trace-a', hashOf('trace-a')))).to.equal(Decision.Unspecified);
    expect(table.held(table.find('trace-a', hashOf('trace-a')))).to.equal(a);
    expect(table.admitDecided('trace-c', hashOf('trace-c'), Decision.NotSampled)).to.equal(a);
    expect(a.done).to.equal(true);
    expect(table.admitDecided('trace-d', hashOf('trace-d'), Decision.NotSampled)).to.equal(undefined);
    expect(table.find('trace-a', hashOf('trace-a'))).to.equal(NOT_HELD);
    expect(table.find('trace-b', hashOf('trace-b'))).to.equal(NOT_HELD);
  });
});
