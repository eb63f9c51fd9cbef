/**
 * Redis when the probe could not hand over some records (its buffer full):
 * the index shows no gap, the sequence numbers do. A command or reply lost
 * that way must never leave a reply paired with the wrong command, with or
 * without pipelining.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { FuncId } from '../../../core/records/network-data';
import type { NetworkRecord } from '../../../core/signals';
import { Conversation, cut, defaultSettings, expectOwnResponses } from '../../../test/helpers/parse';
import { ParseEngine } from '../processor';

interface Exchange {
  key: number;
  /** bytes of the value replied; -1: an error reply */
  value: number;
}

const exchange: fc.Arbitrary<Exchange> = fc.record({ key: fc.nat(99), value: fc.integer({ min: -1, max: 3000 }) });

const command = (x: Exchange): string => `*2\r\n$3\r\nGET\r\n$${String(x.key).length}\r\n${x.key}\r\n`;
const reply = (x: Exchange): string => (x.value < 0 ? '-ERR no\r\n' : `$${x.value}\r\n${'v'.repeat(x.value)}\r\n`);

interface Built {
  records: NetworkRecord[];
  /** per exchange: the sequence numbers of its command and of its reply */
  truth: Array<{ reqSeq: number; respSeq: number }>;
}

/**
 * One end's records of `xs`, replies cut into reads at `cuts`; `pipelined`:
 * every command is sent before the first reply. Each command is one record:
 * after a loss the command stream starts again at a record that starts a
 * command, and one whose first record ends inside its first bulk string's
 * header, the next beginning with a command name, is not recognised (the
 * name alone reads as an inline command).
 */
function build(xs: Exchange[], server: boolean, pipelined: boolean, cuts: number[]): Built {
  const c = new Conversation('cd'.repeat(16), server ? 'server' : 'client');
  const send = (s: string, request: boolean): number => {
    let seq = -1;
    const bytes = Buffer.from(s, 'latin1');
    for (const piece of request ? [bytes] : cut(bytes, cuts)) {
      const text = Buffer.from(piece).toString('latin1');
      const r = request === server ? c.read(text) : c.write(text);
      if (seq < 0) seq = r.tcpSeq;
    }
    return seq;
  };
  const truth: Built['truth'] = [];
  const commandOf = (x: Exchange): void => void truth.push({ reqSeq: send(command(x), true), respSeq: -1 });
  const replyOf = (x: Exchange, i: number): void => void (truth[i].respSeq = send(reply(x), false));
  if (pipelined) {
    xs.forEach(commandOf);
    xs.forEach(replyOf);
  } else {
    xs.forEach((x, i) => {
      commandOf(x);
      replyOf(x, i);
    });
  }
  return { records: c.records, truth };
}


describe('redis records lost in the kernel', function () {
  this.timeout(180000);

  it('records lost (no gap in the index) once each direction has a sequence number: never a wrong pairing (pipelined: replies lost)', () => {
    fc.assert(
      fc.property(
        fc.array(exchange, { minLength: 2, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        (xs, server, pipelined, cuts, drops) => {
          const { records, truth } = build(xs, server, pipelined, cuts);
          // a direction's first record gives the sequence number that later losses show against
          const firsts = new Set([records.findIndex((r) => r.funcId === FuncId.READ), records.findIndex((r) => r.funcId === FuncId.WRITE)]);
          // (a lost one-byte read would be taken for a read numbered one past for its FIN: see stream.ts)
          const droppable = records.map((_, i) => i).filter((i) => !firsts.has(i) && !(records[i].bufLen === 1 && records[i].funcId === FuncId.READ));
          // Pipelined, a command lost leaves the replies after it one off with no way to tell how many were
          // lost (RESP does not number them): only replies are lost there, which give up the commands waiting.
          const replyFunc = server ? FuncId.WRITE : FuncId.READ;
          if (pipelined) droppable.splice(0, Infinity, ...droppable.filter((i) => records[i].funcId === replyFunc));
          if (!droppable.length) return;
          const lost = new Set(drops.map((d) => droppable[d % droppable.length]));
          const kept = records.filter((_, i) => !lost.has(i)).map((r, index) => ({ ...r, index }));
          const e = new ParseEngine(defaultSettings());
          expectOwnResponses([...e.add(kept, 0), ...e.flush()], truth, 'command');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a reply whose command was lost with the records before it is not paired with a command sent after it began', () => {
    const c = new Conversation('ef'.repeat(16), 'server');
    c.read(command({ key: 1, value: 3 }));
    c.write(reply({ key: 1, value: 3 }));
    c.read(command({ key: 2, value: 5 }));
    const big = reply({ key: 2, value: 5000 });
    c.write(big.slice(0, 2000));
    c.read(command({ key: 3, value: 4 }));
    c.write(big.slice(2000));
    c.write(reply({ key: 3, value: 4 }));
    // the command of key 2 was lost in the kernel
    const kept = c.records.filter((_, i) => i !== 2).map((r, index) => ({ ...r, index }));
    const e = new ParseEngine(defaultSettings());
    const ms = [...e.add(kept, 0), ...e.flush()];
    expect(ms.map((m) => [m.reqSeq, m.respSeq ?? null, m.outcome])).to.deep.equal([
      [kept[0].tcpSeq, kept[1].tcpSeq, 'ok'],
      [kept[3].tcpSeq, kept[5].tcpSeq, 'ok'],
    ]);
  });
});
