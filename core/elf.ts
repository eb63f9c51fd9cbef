/**
 * Just enough ELF for the probes and the process reader: an ELF64
 * little-endian file's loaded segments and named sections (inflated when
 * compressed), and where a symbol lives in a mapped object. Other objects are
 * refused (x86-64 and arm64 are what the probes follow).
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const SYM_SIZE = 24;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const SHF_COMPRESSED = 0x800;

export interface Section {
  name: string;
  /** SHT_* */
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  /** the index of a related section (a symbol table's string table) */
  link: number;
}

/** An ELF64 little-endian file's headers, read from an open descriptor; throws on anything else. */
export class ElfFile {
  readonly sections = new Map<string, Section>();
  /** the sections by index, as section headers refer to each other */
  readonly sectionList: Section[] = [];
  readonly loads: Array<{ offset: number; vaddr: number; filesz: number }> = [];
  readonly arch: 'amd64' | 'arm64' | undefined;

  constructor(private readonly fd: number) {
    const h = this.read(0, 64);
    if (h.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
    if (h[4] !== 2 || h[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
    const machine = h.readUInt16LE(0x12);
    this.arch = machine === EM_X86_64 ? 'amd64' : machine === EM_AARCH64 ? 'arm64' : undefined;
    const phoff = Number(h.readBigUInt64LE(0x20));
    const shoff = Number(h.readBigUInt64LE(0x28));
    const phentsize = h.readUInt16LE(0x36);
    const phnum = h.readUInt16LE(0x38);
    const shentsize = h.readUInt16LE(0x3a);
    const shnum = h.readUInt16LE(0x3c);
    const shstrndx = h.readUInt16LE(0x3e);
    const ph = this.read(phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (ph.readUInt32LE(at) !== PT_LOAD) continue;
      this.loads.push({ offset: Number(ph.readBigUInt64LE(at + 8)), vaddr: Number(ph.readBigUInt64LE(at + 16)), filesz: Number(ph.readBigUInt64LE(at + 32)) });
    }
    if (!shnum || shstrndx >= shnum) return;
    const sh = this.read(shoff, shentsize * shnum);
    const raw: Array<Section & { nameAt: number }> = [];
    for (let i = 0; i < shnum; i++) {
      const at = i * shentsize;
      raw.push({
        nameAt: sh.readUInt32LE(at),
        name: '',
        type: sh.readUInt32LE(at + 4),
        flags: Number(sh.readBigUInt64LE(at + 8)),
        addr: Number(sh.readBigUInt64LE(at + 16)),
        offset: Number(sh.readBigUInt64LE(at + 24)),
        size: Number(sh.readBigUInt64LE(at + 32)),
        link: sh.readUInt32LE(at + 40),
      });
    }
    const names = this.read(raw[shstrndx].offset, raw[shstrndx].size);
    for (const s of raw) {
      const end = names.indexOf(0, s.nameAt);
      s.name = names.toString('latin1', s.nameAt, end < 0 ? names.length : end);
      this.sections.set(s.name, s);
      this.sectionList.push(s);
    }
  }

  read(offset: number, length: number): Buffer {
    const b = Buffer.alloc(length);
    const n = fs.readSync(this.fd, b, 0, length, offset);
    if (n !== length) throw new Error(`the file ends inside a header or section (at ${offset})`);
    return b;
  }

  /** A section's bytes, inflated when compressed (SHF_COMPRESSED, or the older .zdebug_ form). */
  section(name: string): Buffer | undefined {
    const s = this.sections.get(name);
    if (s) {
      const b = this.read(s.offset, s.size);
      // Elf64_Chdr: ch_type (1: zlib), reserved, ch_size, ch_addralign
      if (s.flags & SHF_COMPRESSED) return b.readUInt32LE(0) === 1 ? zlib.inflateSync(b.subarray(24)) : undefined;
      return b;
    }
    const z = this.sections.get(name.replace(/^\.debug_/, '.zdebug_'));
    if (!z) return undefined;
    const b = this.read(z.offset, z.size);
    return b.toString('latin1', 0, 4) === 'ZLIB' ? zlib.inflateSync(b.subarray(12)) : undefined;
  }

  /** The file offset of a virtual address in a loaded segment. */
  fileOffset(vaddr: number): number | undefined {
    for (const l of this.loads) if (vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz) return vaddr - l.vaddr + l.offset;
    return undefined;
  }
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
    const elf = new ElfFile(fd);
    // The first loaded segment (file offset 0) says which address the object's first byte has before relocation.
    const first = elf.loads.reduce<ElfFile['loads'][number] | undefined>((low, l) => (low === undefined || l.offset < low.offset ? l : low), undefined);
    if (!first) return undefined;
    const base = first.vaddr - first.offset;
    const sections = elf.sectionList;
    const wanted = names.map((n) => Buffer.from(`${n}\0`));
    for (const type of [SHT_DYNSYM, SHT_SYMTAB]) {
      const table = sections.find((s) => s.type === type && s.link < sections.length);
      if (!table) continue; // one table of each kind
      const strs = sections[table.link];
      const strtab = elf.read(strs.offset, strs.size);
      const syms = elf.read(table.offset, table.size);
      for (let o = 0; o + SYM_SIZE <= syms.length; o += SYM_SIZE) {
        if (syms.readUInt16LE(o + 6) === 0) continue; // undefined here: another object defines it
        const name = syms.readUInt32LE(o);
        if (wanted.some((w) => name + w.length <= strtab.length && strtab.compare(w, 0, w.length, name, name + w.length) === 0)) return Number(syms.readBigUInt64LE(o + 8)) - base;
      }
      return undefined;
    }
    return undefined;
  } catch {
    return undefined; // truncated or not an ELF64 LE file after all
  } finally {
    fs.closeSync(fd);
  }
}
