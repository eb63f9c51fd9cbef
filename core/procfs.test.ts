import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { environNames, environValues, readCgroup, readCmdline, readComm, readEnviron, readExePath, readStartTime } from './procfs';

describe('procfs', () => {
  it('reads the variable names of an environ block', () => {
    const block = Buffer.from('PATH=/bin\0OTEL_SERVICE_NAME=shop\0EMPTY=\0NOVALUE\0');
    expect([...environNames(block)]).to.deep.equal(['PATH', 'OTEL_SERVICE_NAME', 'EMPTY', 'NOVALUE']);
  });

  it('keeps the values of the wanted variables only, an "=" in a value included', () => {
    const block = Buffer.from('PATH=/bin\0OTEL_RESOURCE_ATTRIBUTES=a=1,b=2\0DD_SERVICE=caf\u00e9\0=nameless\0NOVALUE\0');
    const values = environValues(block, new Set(['OTEL_RESOURCE_ATTRIBUTES', 'DD_SERVICE', 'NOVALUE', '']));
    expect([...values]).to.deep.equal([
      ['OTEL_RESOURCE_ATTRIBUTES', 'a=1,b=2'],
      ['DD_SERVICE', 'caf\u00e9'],
    ]);
  });

  describe('a /proc/<pid> directory', () => {
    let root: string;
    beforeEach(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-procfs-'));
      const dir = path.join(root, '42');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'comm'), 'my proc\n');
      fs.writeFileSync(path.join(dir, 'environ'), 'A=1\0B=2\0');
      fs.writeFileSync(path.join(dir, 'cmdline'), 'node\0-e\0\0x\0');
      fs.writeFileSync(path.join(dir, 'cgroup'), '0::/system.slice/x.service\n');
      fs.writeFileSync(path.join(dir, 'stat'), `42 (a) b) c) S ${'1 '.repeat(18)}777 0 0\n`);
      fs.symlinkSync('/usr/bin/node', path.join(dir, 'exe'));
      fs.mkdirSync(path.join(root, '43'));
      fs.writeFileSync(path.join(root, '43', 'cmdline'), '');
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it('reads each file as the kernel writes it', () => {
      expect(readComm(42, root)).to.equal('my proc');
      expect(readEnviron(42, root)).to.deep.equal(Buffer.from('A=1\0B=2\0'));
      expect(readCmdline(42, root)).to.deep.equal(['node', '-e', '', 'x']);
      expect(readCgroup(42, root)).to.equal('0::/system.slice/x.service\n');
      // a comm holding ") " does not shift the fields
      expect(readStartTime(42, root)).to.equal('777');
      expect(readExePath(42, root)).to.equal('/usr/bin/node');
    });

    it('gives undefined for what cannot be read, and for an empty command line', () => {
      expect(readCmdline(43, root)).to.equal(undefined);
      for (const read of [readComm, readEnviron, readCmdline, readCgroup, readStartTime, readExePath]) expect(read(44, root)).to.equal(undefined);
    });
  });

  it('reads this process from the real /proc', () => {
    expect(readComm(process.pid)).to.be.a('string');
    expect(environNames(readEnviron(process.pid)!).has('PATH')).to.equal(true);
    expect(readCmdline(process.pid)![0]).to.equal(process.argv0);
  });
});
