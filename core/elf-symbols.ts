/**
 * Just enough ELF to find where a data symbol lives in a mapped object: its
 * address relative to the object's first byte in memory. 64-bit little-endian
 * objects only (x86-64, arm64); anything else gives undefined.
 */
import * as fs from 'node:fs';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const SYM_SIZE = 24;

function readAt(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const n = fs.readSync(fd, b, 0, length, offset);
  if (n !== length) throw new Error('short read');
  return b;
}

/**
 * The offset of the first defined symbol named one of `names` from the address
 * where the object's file offset 0 is mapped (the start of its first mapping in
 * /proc/<pid>/maps). The dynamic symbols are searched, the full table only
 * when there are none (static executables). Undefined when not found or not readable.
 */
export function symbolOffset(file: string, names: readonly string[]): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const eh = readAt(fd, 0, 64);
    if (eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1) return undefined; // ELF, 64-bit, little-endian
    const phoff = Number(eh.readBigUInt64LE(32));
    const shoff = Number(eh.readBigUInt64LE(40));
    const phentsize = eh.readUInt16LE(54);
    const phnum = eh.readUInt16LE(56);
    const shentsize = eh.readUInt16LE(58);
    const shnum = eh.readUInt16LE(60);

    // The first loaded segment (file offset 0) says which address the object's first byte has before relocation.
    let base: number | undefined;
    let lowestOffset = Infinity;
    const ph = readAt(fd, phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const p = i * phentsize;
      if (ph.readUInt32LE(p) !== PT_LOAD) continue;
      const offset = Number(ph.readBigUInt64LE(p + 8));
      if (offset >= lowestOffset) continue;
      lowestOffset = offset;
      base = Number(ph.readBigUInt64LE(p + 16)) - offset;
    }
    if (base === undefined || shnum === 0) return undefined;

    const sh = readAt(fd, shoff, shentsize * shnum);
    const section = (i: number) => ({
      type: sh.readUInt32LE(i * shentsize + 4),
      offset: Number(sh.readBigUInt64LE(i * shentsize + 24)),
      size: Number(sh.readBigUInt64LE(i * shentsize + 32)),
      link: sh.readUInt32LE(i * shentsize + 40),
    });
    const wanted = names.map((n) => Buffer.from(`${n}\0`));
    for (const type of [SHT_DYNSYM, SHT_SYMTAB]) {
      for (let i = 0; i < shnum; i++) {
        const s = section(i);
        if (s.type !== type || s.link >= shnum) continue;
        const strs = section(s.link);
        const strtab = readAt(fd, strs.offset, strs.size);
        const syms = readAt(fd, s.offset, s.size);
        for (let o = 0; o + SYM_SIZE <= syms.length; o += SYM_SIZE) {
          if (syms.readUInt16LE(o + 6) === 0) continue; // undefined here: another object defines it
          const name = syms.readUInt32LE(o);
          if (wanted.some((w) => name + w.length <= strtab.length && strtab.compare(w, 0, w.length, name, name + w.length) === 0)) return Number(syms.readBigUInt64LE(o + 8)) - base;
        }
        return undefined; // one table of each kind
      }
    }
    return undefined;
  } catch {
    return undefined; // truncated or not an ELF file after all
  } finally {
    fs.closeSync(fd);
  }
}
