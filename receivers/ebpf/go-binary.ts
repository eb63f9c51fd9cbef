/**
 * What the goroutine probes need to know about a Go executable, read from the
 * file alone (no source, no symbols needed):
 *
 * - the Go version, from the build info (`.go.buildinfo`, kept by `-s -w`);
 * - the file offsets of runtime.gostartcallfn and runtime.send, from the
 *   function table (`.gopclntab`, which the runtime itself needs, so it is
 *   there in stripped binaries too);
 * - the offsets of runtime.g's goid, m and sched, runtime.m's curg and runtime.sudog's g, from
 *   the DWARF type information, or for a binary built without it, from a
 *   table of versions whose layout was read from their DWARF.
 *
 * ELF64 little-endian only (amd64, arm64: the architectures the probe reads Go registers on).
 */
import * as fs from 'node:fs';
import { ElfFile } from '../../core/elf';

export interface GoOffsets {
  g_goid: number;
  g_m: number;
  g_sched: number;
  m_curg: number;
  sudog_g: number;
}

/** Where the probes go in the runtime functions: file offsets (see probePoint). */
export interface GoFunctions {
  gostartcallfn: number;
  send: number;
}

const FUNCTIONS: Record<keyof GoFunctions, string> = { gostartcallfn: 'runtime.gostartcallfn', send: 'runtime.send' };

export interface GoBinary {
  /** e.g. go1.19.8 */
  version: string;
  /** where the struct offsets came from; absent: not known for this binary */
  offsetsFrom?: 'dwarf' | 'table';
  offsets?: GoOffsets;
  /** absent: not all found */
  functions?: GoFunctions;
  /** why the goroutines of this binary cannot be followed; absent: they can */
  problem?: string;
}

/**
 * runtime.g / runtime.m offsets per Go release (major.minor) and architecture,
 * for binaries without DWARF. Only layouts read from a real binary's DWARF are
 * listed: a guessed offset would give wrong goroutines.
 */
export const KNOWN_OFFSETS: Record<string, Partial<Record<'amd64' | 'arm64', GoOffsets>>> = {
  // Debian 12's golang-1.19 (go1.19.8), read from its DWARF
  '1.19': { amd64: { g_goid: 152, g_m: 48, g_sched: 56, m_curg: 192, sudog_g: 0 } },
};

/** The register ABI (amd64 go1.17, arm64 go1.18) and the build info the version is read from: go1.18 and later. */
const MIN_MINOR = 18;

/** Reads a Go executable; undefined when the file is not a Go program. Throws only when it cannot be read. */
export function readGoBinary(file: string): GoBinary | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    let elf: ElfFile;
    try {
      elf = new ElfFile(fd);
    } catch {
      return undefined; // not ELF64 LE: not something the probes can follow anyway
    }
    const info = elf.section('.go.buildinfo');
    if (!info) return undefined;
    const version = buildVersion(info);
    const bin: GoBinary = { version: version ?? 'before go1.18' };
    const minor = version ? releaseOf(version) : undefined;
    if (!elf.arch) return { ...bin, problem: 'not an amd64 or arm64 executable' };
    if (minor === undefined || Number(minor.split('.')[1]) < MIN_MINOR) return { ...bin, problem: 'Go before 1.18 (or an unknown version): its runtime is called otherwise' };
    const pcln = elf.section('.gopclntab');
    const text = elf.sections.get('.text');
    const addrs = pcln ? findFunctions(pcln, text?.addr ?? 0, Object.values(FUNCTIONS)) : new Map<string, number>();
    const at = (name: string): number | undefined => {
      const addr = addrs.get(name);
      const offset = addr === undefined ? undefined : elf.fileOffset(addr);
      return offset === undefined ? undefined : offset + (elf.arch === 'amd64' ? probePoint(elf.read(offset, 8)) : 0);
    };
    const [gostartcallfn, send] = [at(FUNCTIONS.gostartcallfn), at(FUNCTIONS.send)];
    if (gostartcallfn !== undefined && send !== undefined) bin.functions = { gostartcallfn, send };
    const fromDwarf = dwarfOffsets(elf);
    if (fromDwarf) {
      bin.offsets = fromDwarf;
      bin.offsetsFrom = 'dwarf';
    } else {
      const known = KNOWN_OFFSETS[minor]?.[elf.arch];
      if (known) {
        bin.offsets = known;
        bin.offsetsFrom = 'table';
      }
    }
    if (!bin.offsets) bin.problem = `no DWARF (built with -w or stripped) and no known layout for Go ${minor} on ${elf.arch}`;
    else if (!bin.functions) bin.problem = `${Object.values(FUNCTIONS).join(', ')}: not all in the function table`;
    return bin;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Where in an amd64 Go function its uprobe goes, from the start: past the
 * stack check `cmpq 0x10(%r14), %rsp` (49 3b 66 10), on the `jbe` to
 * morestack that follows (0f 86 or 76): the kernel emulates a conditional
 * jump, while it single-steps a copy of the compare, which under KVM is a VM
 * exit per call (about 20 µs on this project's machines, against about 1 µs).
 * The arguments and g are still in their registers there. A call that grows
 * its stack passes the jump twice (morestack restarts the function): the
 * probes on it are idempotent. Any other start: the entry.
 */
export function probePoint(code: Buffer): number {
  const stackCheck = code.length >= 6 && code[0] === 0x49 && code[1] === 0x3b && code[2] === 0x66 && code[3] === 0x10;
  return stackCheck && ((code[4] === 0x0f && code[5] === 0x86) || code[4] === 0x76) ? 4 : 0;
}

/** major.minor of a version such as go1.19.8 or go1.21rc2; undefined for devel builds. */
export function releaseOf(version: string): string | undefined {
  const m = /^go(\d+)\.(\d+)/.exec(version);
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/**
 * The Go version in a .go.buildinfo section: a 32-byte header ("\xff Go buildinf:",
 * pointer size, flags), then, since go1.18 (flags bit 2), the version as a
 * length-prefixed string. Older binaries point into the data instead: undefined.
 */
export function buildVersion(info: Buffer): string | undefined {
  if (info.length < 33 || info.toString('latin1', 0, 14) !== '\xff Go buildinf:') return undefined;
  if (!(info[15] & 2)) return undefined;
  const { value: length, next } = uleb(info, 32);
  if (next + length > info.length) return undefined;
  return info.toString('utf8', next, next + length);
}

function uleb(b: Buffer, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= b.length) throw new Error('LEB128 number runs past the end');
    const byte = b[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return { value, next: at };
    shift += 7;
  }
}

/**
 * Entry addresses of the named functions, from a go1.18+ pclntab: after the
 * header (magic 0xfffffff0 or 0xfffffff1, pointer size, function count, text
 * start, table offsets), a table of (entry offset, func offset) pairs; each
 * func starts with its entry offset and the offset of its name.
 */
export function findFunctions(pcln: Buffer, textAddr: number, names: readonly string[]): Map<string, number> {
  const found = new Map<string, number>();
  const magic = pcln.length >= 8 ? pcln.readUInt32LE(0) : 0;
  if (magic !== 0xfffffff0 && magic !== 0xfffffff1) return found;
  const ptr = pcln[7];
  if (ptr !== 8) return found;
  const word = (i: number): number => Number(pcln.readBigUInt64LE(8 + i * ptr));
  const nfunc = word(0);
  // the text start is relocated at load time in position-independent executables (0 in the file)
  const textStart = word(2) || textAddr;
  const funcnames = word(3);
  const functab = word(7);
  const wanted = new Set(names);
  for (let i = 0; i < nfunc && found.size < wanted.size; i++) {
    const at = functab + i * 8;
    if (at + 8 > pcln.length) break;
    const func = functab + pcln.readUInt32LE(at + 4);
    if (func + 8 > pcln.length) break;
    const nameAt = funcnames + pcln.readInt32LE(func + 4);
    const end = pcln.indexOf(0, nameAt);
    if (nameAt < 0 || end < 0) continue;
    const name = pcln.toString('latin1', nameAt, end);
    if (wanted.has(name)) found.set(name, textStart + pcln.readUInt32LE(func));
  }
  return found;
}

const DW_TAG_structure_type = 0x13;
const DW_TAG_member = 0x0d;
const DW_AT_name = 0x03;
const DW_AT_data_member_location = 0x38;

interface Abbrev {
  tag: number;
  children: boolean;
  attrs: Array<[number, number]>;
}

function abbrevTable(b: Buffer, at: number): Map<number, Abbrev> {
  const table = new Map<number, Abbrev>();
  for (;;) {
    const code = uleb(b, at);
    at = code.next;
    if (code.value === 0) return table;
    const tag = uleb(b, at);
    const children = b[tag.next] === 1;
    at = tag.next + 1;
    const attrs: Array<[number, number]> = [];
    for (;;) {
      const name = uleb(b, at);
      const form = uleb(b, name.next);
      at = form.next;
      if (name.value === 0 && form.value === 0) break;
      attrs.push([name.value, form.value]);
    }
    table.set(code.value, { tag: tag.value, children, attrs });
  }
}

/** The runtime.g and runtime.m member offsets from the DWARF type information, or undefined. */
function dwarfOffsets(elf: ElfFile): GoOffsets | undefined {
  let info: Buffer | undefined;
  let abbrev: Buffer | undefined;
  try {
    info = elf.section('.debug_info');
    abbrev = elf.section('.debug_abbrev');
  } catch {
    return undefined;
  }
  if (!info || !abbrev) return undefined;
  let members: Map<string, Map<string, number>>;
  try {
    members = structMembers(info, abbrev, { 'runtime.g': ['goid', 'm', 'sched'], 'runtime.m': ['curg'], 'runtime.sudog': ['g'] });
  } catch {
    return undefined; // DWARF this reader does not follow: the version table may still know the layout
  }
  const g = members.get('runtime.g');
  const m = members.get('runtime.m');
  const g_goid = g?.get('goid');
  const g_m = g?.get('m');
  const g_sched = g?.get('sched');
  const m_curg = m?.get('curg');
  const sudog_g = members.get('runtime.sudog')?.get('g');
  if (g_goid === undefined || g_m === undefined || g_sched === undefined || m_curg === undefined || sudog_g === undefined) return undefined;
  return { g_goid, g_m, g_sched, m_curg, sudog_g };
}

/**
 * Member offsets of the named structs in DWARF 2-4 .debug_info (32-bit
 * format, the one Go writes): the first definition of each struct that has the members asked for.
 */
export function structMembers(info: Buffer, abbrev: Buffer, wanted: Record<string, string[]>): Map<string, Map<string, number>> {
  const result = new Map<string, Map<string, number>>();
  let unit = 0;
  while (unit + 11 <= info.length && result.size < Object.keys(wanted).length) {
    const length = info.readUInt32LE(unit);
    if (length >= 0xfffffff0) break; // 64-bit DWARF: not what Go writes
    const end = unit + 4 + length;
    const version = info.readUInt16LE(unit + 4);
    if (version < 2 || version > 4) break;
    const abbrevs = abbrevTable(abbrev, info.readUInt32LE(unit + 6));
    const addrSize = info[unit + 10];
    let at = unit + 11;
    // the struct being read (by depth of its children), and the members found in it
    let depth = 0;
    let inStruct: { name: string; depth: number; found: Map<string, number> } | undefined;
    while (at < end) {
      const code = uleb(info, at);
      at = code.next;
      if (code.value === 0) {
        if (inStruct && depth === inStruct.depth) {
          const need = wanted[inStruct.name];
          if (!result.has(inStruct.name) && need.every((n) => inStruct!.found.has(n))) result.set(inStruct.name, inStruct.found);
          inStruct = undefined;
        }
        depth--;
        continue;
      }
      const a = abbrevs.get(code.value);
      if (!a) throw new Error(`DWARF: unknown abbreviation ${code.value}`);
      let name: string | undefined;
      let location: number | undefined;
      for (const [attr, form] of a.attrs) {
        const v = readForm(info, at, form, addrSize);
        at = v.next;
        if (attr === DW_AT_name && v.text !== undefined) name = v.text;
        else if (attr === DW_AT_data_member_location && v.number !== undefined) location = v.number;
      }
      if (a.tag === DW_TAG_structure_type && a.children && name && !inStruct && name in wanted && !result.has(name)) {
        inStruct = { name, depth: depth + 1, found: new Map() };
      } else if (inStruct && a.tag === DW_TAG_member && depth === inStruct.depth && name && location !== undefined) {
        inStruct.found.set(name, location);
      }
      if (a.children) depth++;
    }
    unit = end;
  }
  return result;
}

/** Skips (and where useful reads) one attribute value; forms Go does not write are an error. */
function readForm(b: Buffer, at: number, form: number, addrSize: number): { next: number; number?: number; text?: string } {
  switch (form) {
    case 0x01: // addr
      return { next: at + addrSize };
    case 0x0b: // data1
      return { next: at + 1, number: b[at] };
    case 0x05: // data2
      return { next: at + 2, number: b.readUInt16LE(at) };
    case 0x06: // data4
      return { next: at + 4, number: b.readUInt32LE(at) };
    case 0x07: // data8
      return { next: at + 8, number: Number(b.readBigUInt64LE(at)) };
    case 0x0f: {
      // udata
      const v = uleb(b, at);
      return { next: v.next, number: v.value };
    }
    case 0x0d: // sdata (member offsets are never negative: only skipped)
    case 0x15: // ref_udata
      return { next: uleb(b, at).next };
    case 0x08: {
      // string
      const end = b.indexOf(0, at);
      if (end < 0) throw new Error('DWARF: unterminated string');
      return { next: end + 1, text: b.toString('utf8', at, end) };
    }
    case 0x0a: // block1
      return { next: at + 1 + b[at] };
    case 0x03: // block2
      return { next: at + 2 + b.readUInt16LE(at) };
    case 0x04: // block4
      return { next: at + 4 + b.readUInt32LE(at) };
    case 0x09: // block
    case 0x18: {
      // exprloc
      const n = uleb(b, at);
      return { next: n.next + n.value };
    }
    case 0x0c: // flag
    case 0x11: // ref1
      return { next: at + 1 };
    case 0x12: // ref2
      return { next: at + 2 };
    case 0x0e: // strp (.debug_str: Go does not use it; names read through it are not needed)
    case 0x10: // ref_addr
    case 0x13: // ref4
    case 0x17: // sec_offset
      return { next: at + 4 };
    case 0x14: // ref8
    case 0x20: // ref_sig8
      return { next: at + 8 };
    case 0x19: // flag_present
      return { next: at };
    default:
      throw new Error(`DWARF: form 0x${form.toString(16)} not handled`);
  }
}
