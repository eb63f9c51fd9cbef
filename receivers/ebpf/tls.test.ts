import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mappedLibraries, TlsAttacher, type TlsProbe } from './tls';

const MAPS = `55d0c0a00000-55d0c0a2a000 r--p 00000000 fd:01 1311 /usr/sbin/nginx
7f1c2a000000-7f1c2a01f000 r--p 00000000 fd:01 2044 /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1c2a01f000-7f1c2a07b000 r-xp 0001f000 fd:01 2044 /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1c2b000000-7f1c2b001000 r-xp 00000000 fd:01 4096 /opt/app/lib/libssl.so.1.1
7f1c2c000000-7f1c2c001000 r-xp 00000000 fd:01 4097 /tmp/old/libssl.so.3 (deleted)
7f1c2d000000-7f1c2d001000 r-xp 00000000 fd:01 4098 /usr/lib/x86_64-linux-gnu/libssl.so.30
7ffd1a000000-7ffd1a021000 rw-p 00000000 00:00 0 [stack]
7f1c2e000000-7f1c2e001000 rw-p 00000000 00:00 0
`;

describe('ebpf receiver: TLS library discovery', () => {
  it('finds the mapped files that are one of the libraries, once each, by name or by absolute path', () => {
    expect(mappedLibraries(MAPS, ['libssl.so.3', 'libssl.so.1.1'])).to.deep.equal(['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/opt/app/lib/libssl.so.1.1']);
    expect(mappedLibraries(MAPS, ['/opt/app/lib/libssl.so.1.1'])).to.deep.equal(['/opt/app/lib/libssl.so.1.1']);
    expect(mappedLibraries(MAPS, ['libgnutls.so.30'])).to.deep.equal([]);
  });

  it('asks the probe once per file however many paths and processes lead to it, and looks at exec\'d processes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-tls-unit-'));
    try {
      const lib = path.join(dir, 'libfake.so');
      fs.writeFileSync(lib, 'not really a library');
      fs.symlinkSync(lib, path.join(dir, 'alias.so'));
      const asked: string[] = [];
      let execs: number[] = [];
      const probe: TlsProbe = {
        attachTls: (file) => (asked.push(file), { functions: file.endsWith('libfake.so') ? ['SSL_read', 'SSL_write'] : [] }),
        takeExecs: () => [execs, (execs = [])][0],
      };
      const warnings: string[] = [];
      const t = new TlsAttacher(probe, { libraries: [lib, path.join(dir, 'alias.so')], executables: true }, (m) => warnings.push(m));
      t.start();
      // both paths name one inode; this process's executable (node) was looked at too
      expect(asked.filter((f) => f.startsWith(dir))).to.deep.equal([lib]);
      expect(t.probed.filter((f) => f.path.startsWith(dir))).to.deep.equal([{ path: lib, functions: ['SSL_read', 'SSL_write'] }]);
      expect(warnings).to.deep.equal([]);

      // a process that exec'd: its executable is looked at on the next poll, once
      asked.length = 0;
      const fresh = new TlsAttacher(probe, { libraries: [], executables: true }, (m) => warnings.push(m));
      execs = [process.pid];
      fresh.poll(0);
      expect(asked).to.deep.equal([`/proc/${process.pid}/exe`]);
      fresh.poll(10_000); // looked at again a second later (dlopen), the same file: not asked again
      expect(asked).to.have.length(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
