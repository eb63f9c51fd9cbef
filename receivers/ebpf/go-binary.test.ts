import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildService, goUnavailable } from '../../test/go/build';
import { GoAttacher, type GoProbe } from './go';
import { buildVersion, KNOWN_OFFSETS, probePoint, readGoBinary, releaseOf, type GoOffsets } from './go-binary';

function buildInfo(version: string, flags = 2): Buffer {
  const header = Buffer.alloc(32);
  header.write('\xff Go buildinf:', 0, 'latin1');
  header[14] = 8;
  header[15] = flags;
  return Buffer.concat([header, Buffer.from([version.length]), Buffer.from(version), Buffer.from('mod\tx\n')]);
}

describe('Go executables', () => {
  it('reads the version from the build info, and nothing from an older or damaged one', () => {
    expect(buildVersion(buildInfo('go1.19.8'))).to.equal('go1.19.8');
    expect(buildVersion(buildInfo('go1.17', 0))).to.equal(undefined);
    expect(buildVersion(buildInfo('go1.19.8').subarray(0, 36))).to.equal(undefined);
    expect(buildVersion(Buffer.from('not build info at all, not at all'))).to.equal(undefined);
    expect(releaseOf('go1.21rc2')).to.equal('1.21');
    expect(releaseOf('devel +abc')).to.equal(undefined);
  });

  it('puts an amd64 probe on the jump after the stack check, else at the entry', () => {
    expect(probePoint(Buffer.from('493b66100f86f1000000', 'hex'))).to.equal(4);
    expect(probePoint(Buffer.from('493b6610765748', 'hex'))).to.equal(4);
    expect(probePoint(Buffer.from('493b6610488b4424', 'hex'))).to.equal(0);
    expect(probePoint(Buffer.from('4883ec2848896c24', 'hex'))).to.equal(0);
    expect(probePoint(Buffer.from('493b', 'hex'))).to.equal(0);
  });

  it('says a file that is not a Go program is none', () => {
    expect(readGoBinary(process.execPath)).to.equal(undefined);
    expect(readGoBinary(__filename)).to.equal(undefined);
  });

  describe('built with the Go toolchain', function () {
    this.timeout(120_000);
    let dir: string;
    let plain: string;
    let stripped: string;

    before(function () {
      const why = goUnavailable();
      if (why) {
        console.log(`      skipping: ${why}`);
        this.skip();
      }
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-gobin-'));
      plain = buildService(dir, 'service');
      stripped = buildService(dir, 'service-stripped', ['-ldflags=-s -w']);
    });

    after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

    /** `nm`'s address of a symbol, as a file offset (the text segment maps file offset 0 at 0x400000). */
    function symbolOffset(file: string, name: string): number {
      const out = spawnSync('go', ['tool', 'nm', file], { encoding: 'utf8', env: { ...process.env, HOME: dir, GOCACHE: path.join(dir, 'cache') } }).stdout;
      const line = out.split('\n').find((l) => l.trim().endsWith(` T ${name}`))!;
      return parseInt(line.trim().split(/\s+/)[0], 16) - 0x400000;
    }

    it('finds the runtime functions in the function table and the struct offsets in DWARF', () => {
      const bin = readGoBinary(plain)!;
      const version = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', env: { ...process.env, HOME: dir } }).stdout.trim();
      expect(bin.version).to.equal(version);
      expect(bin.problem).to.equal(undefined);
      expect(bin.offsetsFrom).to.equal('dwarf');
      // on amd64 past the 4-byte stack check (go1.19 functions begin with one)
      const skip = process.arch === 'x64' ? 4 : 0;
      expect(bin.functions).to.deep.equal({ gostartcallfn: symbolOffset(plain, 'runtime.gostartcallfn') + skip, send: symbolOffset(plain, 'runtime.send') + skip });
      // the table's layout for this release is what the DWARF says
      const table = KNOWN_OFFSETS[releaseOf(version)!]?.[process.arch === 'arm64' ? 'arm64' : 'amd64'];
      if (table) expect(bin.offsets).to.deep.equal(table);
    });

    it('follows a stripped binary (-s -w) by the version table, and says why not when its version is not in it', () => {
      const bin = readGoBinary(stripped)!;
      const release = releaseOf(bin.version)!;
      const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
      // stripping drops the symbols and DWARF after the code, not the code or the function table
      expect(bin.functions).to.deep.equal(readGoBinary(plain)!.functions);
      if (KNOWN_OFFSETS[release]?.[arch]) {
        expect(bin.offsetsFrom).to.equal('table');
        expect(bin.problem).to.equal(undefined);
      }
      const saved = KNOWN_OFFSETS[release];
      delete KNOWN_OFFSETS[release];
      try {
        const unknown = readGoBinary(stripped)!;
        expect(unknown.offsets).to.equal(undefined);
        expect(unknown.problem).to.match(/no DWARF .* and no known layout for Go/);
      } finally {
        if (saved) KNOWN_OFFSETS[release] = saved;
      }
    });

    describe('GoAttacher', () => {
      const children: ChildProcess[] = [];

      function fakeProbe() {
        const calls = { set: [] as number[], deleted: [] as number[], attached: [] as string[] };
        const probe: GoProbe = {
          setGoProcess: (pid: number, _o: GoOffsets) => (calls.set.push(pid), true),
          deleteGoProcess: (pid: number) => (calls.deleted.push(pid), true),
          attachGo: (file: string) => (calls.attached.push(file), ''),
        };
        return { probe, calls };
      }

      async function start(file: string): Promise<ChildProcess> {
        // backend mode serves until killed; "ready" says it runs
        const child = spawn(file, ['backend', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
        children.push(child);
        await new Promise<void>((resolve, reject) => {
          child.stdout!.once('data', () => resolve());
          child.once('exit', (code) => reject(new Error(`exited ${code}`)));
        });
        return child;
      }

      afterEach(() => {
        for (const c of children.splice(0)) c.kill('SIGKILL');
      });

      it('probes each traced Go executable once, tells the probe about each of its traced processes, and forgets them when they exit', async () => {
        const a = await start(plain);
        const b = await start(plain);
        const { probe, calls } = fakeProbe();
        const counted: string[] = [];
        const attacher = new GoAttacher(probe, { process: (r) => counted.push(r), unsupported: () => {}, traced: () => {} }, (pid) => pid === a.pid || pid === b.pid);
        attacher.scan();
        expect(calls.set).to.deep.equal([a.pid, b.pid].sort((x, y) => x! - y!));
        expect(calls.attached).to.have.length(1);
        attacher.scan(); // nothing new
        expect(calls.set.filter((p) => p === a.pid)).to.have.length(1);
        a.kill('SIGKILL');
        await new Promise((r) => a.once('exit', r));
        await new Promise((r) => setTimeout(r, 50));
        attacher.scan();
        expect(calls.deleted).to.deep.equal([a.pid]);
      });

      it('says once per executable that a Go program cannot be followed, and counts each of its processes', async () => {
        const bin = readGoBinary(stripped)!;
        const release = releaseOf(bin.version)!;
        const saved = KNOWN_OFFSETS[release];
        delete KNOWN_OFFSETS[release];
        try {
          const a = await start(stripped);
          const b = await start(stripped);
          const { probe, calls } = fakeProbe();
          const counted: string[] = [];
          const said: Array<Record<string, unknown>> = [];
          const attacher = new GoAttacher(probe, { process: (r) => counted.push(r), unsupported: (_m, f) => said.push(f), traced: () => {} }, (pid) => pid === a.pid || pid === b.pid);
          attacher.scan();
          const mine = said.filter((f) => f.executable === stripped);
          expect(mine).to.have.length(1);
          expect(mine[0].reason).to.match(/no known layout/);
          expect(calls.set).to.deep.equal([]);
          expect(counted).to.deep.equal(['unsupported', 'unsupported']);
        } finally {
          if (saved) KNOWN_OFFSETS[release] = saved;
        }
      });
    });
  });
});
