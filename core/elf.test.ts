import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { symbolOffset } from './elf';

describe('elf symbols', () => {
  const self = fs.readlinkSync('/proc/self/exe');

  it("finds a data symbol of this process's executable, aliases at one place", () => {
    // Node uses environ, so its executable holds a copy relocation of it (see procfs for the memory behind it)
    const offset = symbolOffset(self, ['__environ']);
    expect(offset).to.be.a('number').and.above(0);
    expect(symbolOffset(self, ['no_such_symbol_here', 'environ'])).to.equal(offset);
  });

  it('gives undefined for a missing symbol, a file that is not ELF, and no file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-elf-'));
    try {
      fs.writeFileSync(path.join(dir, 'text'), 'not an ELF file at all, but long enough to hold a header: '.repeat(4));
      const head = Buffer.alloc(200);
      const fd = fs.openSync(self, 'r');
      fs.readSync(fd, head, 0, head.length, 0);
      fs.closeSync(fd);
      fs.writeFileSync(path.join(dir, 'cut'), head);
      expect(symbolOffset(self, ['no_such_symbol_here'])).to.equal(undefined);
      expect(symbolOffset(path.join(dir, 'text'), ['__environ'])).to.equal(undefined);
      expect(symbolOffset(path.join(dir, 'cut'), ['__environ'])).to.equal(undefined);
      expect(symbolOffset(path.join(dir, 'none'), ['__environ'])).to.equal(undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
