import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoopAttacher } from './event-loop';

describe('ebpf receiver: libuv event loops', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-loop-'));
    fs.writeFileSync(path.join(root, 'node'), 'x');
    fs.writeFileSync(path.join(root, 'python3'), 'y');
    fs.writeFileSync(path.join(root, 'broken'), 'z');
    for (const [pid, exe] of [[10, 'node'], [11, 'node'], [12, 'python3'], [13, 'broken'], [14, 'node']] as const) {
      fs.mkdirSync(path.join(root, String(pid)));
      fs.symlinkSync(path.join(root, exe), path.join(root, String(pid), 'exe'));
    }
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('probes each traced process\'s executable once, says which were probed and which failed, and is silent about those without libuv', () => {
    const asked: string[] = [];
    const attached: string[] = [];
    const failed: string[] = [];
    const answers: Record<string, string> = { node: '', python3: 'absent', broken: 'cannot attach loop_poll_end: Invalid argument' };
    const probe = { attachLoop: (p: string) => (asked.push(p), answers[path.basename(fs.readlinkSync(p))]) };
    const traced = new Set([10, 11, 12, 13]);
    const loops = new LoopAttacher(probe, (pid) => traced.has(pid), (e) => attached.push(path.basename(e)), (e, error) => failed.push(`${path.basename(e)}: ${error}`), root);
    loops.scan();
    loops.scan();
    expect(asked).to.have.length(3); // node once (pids 10 and 11), python3, broken; pid 14 is not traced
    expect(attached).to.deep.equal(['node']);
    expect(failed).to.deep.equal(['broken: cannot attach loop_poll_end: Invalid argument']);
  });
});
