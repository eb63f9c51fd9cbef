import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { symbolOffset } from './elf';
import {
  environOverwritten,
  environValues,
  readCgroup,
  readCmdline,
  readEnviron,
  readEnvironValues,
  readExePath,
  readLiveEnvironValues,
  readStat,
} from './procfs';

describe('procfs', () => {
  it('tells an environ block from a title written over it', () => {
    expect(environOverwritten(Buffer.from('PATH=/bin\0OTEL_SERVICE_NAME=shop\0EMPTY=\0'))).to.equal(false);
    expect(environOverwritten(Buffer.alloc(0))).to.equal(false); // started with no environment
    expect(environOverwritten(Buffer.alloc(64))).to.equal(true); // NULs after the title (redis-server)
    expect(environOverwritten(Buffer.from('127.0.0.1:6379\0\0\0'))).to.equal(true); // a title running into the area
    expect(environOverwritten(Buffer.from('worker process\0A=1\0'))).to.equal(true);
    expect(environOverwritten(Buffer.from('A=1\0=x\0'))).to.equal(true);
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
      fs.writeFileSync(path.join(dir, 'environ'), 'A=1\0B=2\0');
      fs.writeFileSync(path.join(dir, 'cmdline'), 'node\0-e\0\0x\0');
      fs.mkdirSync(path.join(root, '45'));
      fs.writeFileSync(path.join(root, '45', 'cmdline'), 'redis-server 127.0.0.1:6379\0\0\0\0\0');
      fs.writeFileSync(path.join(dir, 'cgroup'), '0::/system.slice/x.service\n');
      fs.writeFileSync(path.join(dir, 'stat'), `42 (a) b) c) S ${'1 '.repeat(18)}777 0 0\n`);
      fs.symlinkSync('/usr/bin/node', path.join(dir, 'exe'));
      fs.mkdirSync(path.join(root, '43'));
      fs.writeFileSync(path.join(root, '43', 'cmdline'), '');
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it('reads each file as the kernel writes it', () => {
      expect(readEnviron(42, root)).to.deep.equal(Buffer.from('A=1\0B=2\0'));
      expect(readCmdline(42, root)).to.deep.equal(['node', '-e', '', 'x']);
      expect(readCgroup(42, root)).to.equal('0::/system.slice/x.service\n');
      // a comm holding ") " does not shift the fields
      expect(readStat(42, root)).to.deep.equal({ comm: 'a) b) c', startTime: '777' });
      expect(readExePath(42, root)).to.equal('/usr/bin/node');
    });

    it('gives undefined for what cannot be read, and for an empty command line', () => {
      expect(readCmdline(43, root)).to.equal(undefined);
      for (const read of [readEnviron, readCmdline, readCgroup, readStat, readExePath]) expect(read(44, root)).to.equal(undefined);
    });

    it('leaves out the NULs a title written over the arguments leaves behind', () => {
      expect(readCmdline(45, root)).to.deep.equal(['redis-server 127.0.0.1:6379']);
    });

    it('takes the environment from /proc/<pid>/environ while it holds one', () => {
      expect([...readEnvironValues(42, new Set(['B', 'C']), root)!]).to.deep.equal([['B', '2']]);
      expect(readEnvironValues(44, new Set(['B']), root)).to.equal(undefined);
    });
  });

  describe('the environment in memory, where a title was written over /proc/<pid>/environ', () => {
    // A fake /proc/<pid> whose mem is a sparse file, addresses being offsets, and whose C library is this machine's.
    const libc = fs
      .readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .map((l) => l.split(/\s+/)[5])
      .find((p) => p && /\/libc\.so/.test(p));
    const LIBC_START = 0x20000000;
    const VARS = 0x30000000;
    let root: string;
    let mem: number;
    const write = (address: number, bytes: Buffer) => fs.writeSync(mem, bytes, 0, bytes.length, address);
    const pointers = (...ps: number[]) => Buffer.from(new BigUint64Array(ps.map(BigInt)).buffer);

    beforeEach(function () {
      if (!libc || symbolOffset(libc, ['__environ']) === undefined) {
        console.log('      no glibc with __environ mapped here; skipping');
        this.skip();
      }
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-procmem-'));
      const dir = path.join(root, '50');
      fs.mkdirSync(path.join(dir, 'map_files'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'environ'), Buffer.alloc(300));
      fs.symlinkSync('/opt/app/server', path.join(dir, 'exe'));
      fs.writeFileSync(path.join(root, 'server'), 'not an ELF file');
      fs.symlinkSync(path.join(root, 'server'), path.join(dir, 'map_files', '10000000-10001000'));
      fs.symlinkSync(libc!, path.join(dir, 'map_files', `${LIBC_START.toString(16)}-${(LIBC_START + 0x28000).toString(16)}`));
      fs.writeFileSync(
        path.join(dir, 'maps'),
        [
          '10000000-10001000 r--p 00000000 fe:00 1234                     /opt/app/server',
          `${LIBC_START.toString(16)}-${(LIBC_START + 0x28000).toString(16)} r--p 00000000 fe:00 99999901                     ${libc}`,
          '7ffc8daf6000-7ffc8db17000 rw-p 00000000 00:00 0                          [stack]',
          '',
        ].join('\n'),
      );
      mem = fs.openSync(path.join(dir, 'mem'), 'w+');
      const strings = ['PATH=/bin', 'OTEL_SERVICE_NAME=redis', 'SECRET=hunter2', 'DD_SERVICE=', 'DD_ENV'];
      write(LIBC_START + symbolOffset(libc!, ['__environ'])!, pointers(VARS));
      write(VARS, pointers(...strings.map((_, i) => VARS + 0x1000 + i * 0x100), 0));
      strings.forEach((text, i) => write(VARS + 0x1000 + i * 0x100, Buffer.from(`${text}\0`)));
    });
    afterEach(() => {
      if (root) fs.closeSync(mem);
      fs.rmSync(root ?? '/nonexistent', { recursive: true, force: true });
    });

    it("follows the C library's environ to the wanted variables, the executable not defining it", () => {
      const wanted = new Set(['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DD_ENV', 'MISSING']);
      const expected = [
        ['OTEL_SERVICE_NAME', 'redis'],
        ['DD_SERVICE', ''],
      ];
      expect([...readLiveEnvironValues(50, wanted, root)!]).to.deep.equal(expected);
      expect([...readEnvironValues(50, wanted, root)!]).to.deep.equal(expected);
    });

    it('reads the C library through root/ when map_files is refused', () => {
      const dir = path.join(root, '50');
      fs.rmSync(path.join(dir, 'map_files'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'root', path.dirname(libc!)), { recursive: true });
      fs.symlinkSync(libc!, path.join(dir, 'root', libc!));
      // another inode: the offset is not taken from the cache
      fs.writeFileSync(path.join(dir, 'maps'), fs.readFileSync(path.join(dir, 'maps'), 'utf8').replace(' 99999901 ', ' 99999902 '));
      expect([...readLiveEnvironValues(50, new Set(['OTEL_SERVICE_NAME']), root)!]).to.deep.equal([['OTEL_SERVICE_NAME', 'redis']]);
    });

    it('stops at a string longer than an exec string may be, and at memory it cannot read', () => {
      write(VARS + 0x10000, Buffer.alloc(200_000, 0x61).fill('OTEL_SERVICE_NAME=', 0, 18));
      write(VARS + 8, pointers(VARS + 0x10000));
      expect([...readLiveEnvironValues(50, new Set(['OTEL_SERVICE_NAME', 'DD_SERVICE']), root)!]).to.deep.equal([['DD_SERVICE', '']]);
      write(VARS, pointers(0x7000_0000_0000));
      expect([...readLiveEnvironValues(50, new Set(['OTEL_SERVICE_NAME']), root)!]).to.deep.equal([]);
    });
  });

  it('reads this process from the real /proc', () => {
    expect(readStat(process.pid)!.comm).to.equal(fs.readFileSync('/proc/self/comm', 'latin1').trim());
    expect(readEnvironValues(process.pid, new Set(['PATH']))!.get('PATH')).to.equal(process.env.PATH);
    expect(readCmdline(process.pid)![0]).to.equal(process.argv0);
  });
});

describe('procfs, the live environment of this process', () => {
  it("reads what the process set after it started, which /proc/<pid>/environ does not show", function () {
    const name = `ESPAN_LIVE_${process.pid}`;
    process.env[name] = 'set-later'; // Node's process.env writes through to the C environment
    try {
      expect(environValues(readEnviron(process.pid)!, new Set([name])).size).to.equal(0);
      const live = readLiveEnvironValues(process.pid, new Set([name, 'PATH']));
      if (live === undefined) {
        console.log('      /proc/self/mem or the C library not readable here; skipping');
        this.skip();
      }
      expect(Object.fromEntries(live)).to.deep.equal({ [name]: 'set-later', PATH: process.env.PATH });
    } finally {
      delete process.env[name];
    }
  });
});
