import { open, readFile } from 'node:fs/promises';

/**
 * Just enough ELF reading to find what the dynamic loader will open: the interpreter
 * (PT_INTERP), DT_NEEDED and the library search paths. The loader's own opens never show
 * in the trace of a chrooted exec (minimise adds them by reading the files), and a binary
 * without PT_INTERP is static, so it runs in any root whatever its libc (the tether's busybox).
 */
export interface ElfInfo {
  /** 32 or 64. */
  bits: 32 | 64;
  littleEndian: boolean;
  machine: number;
  interpreter?: string;
  needed: string[];
  rpath: string[];
  runpath: string[];
  soname?: string;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/** True when the file starts with the ELF magic; cheap (reads 4 bytes). */
export async function isElf(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.readUInt32BE(0) === 0x7f454c46;
  } finally {
    await fh.close();
  }
}

/** Parses an ELF file; undefined when it is not ELF or is truncated. */
export async function readElf(file: string): Promise<ElfInfo | undefined> {
  if (!(await isElf(file))) return undefined;
  return parseElf(await readFile(file));
}

/**
 * Whether `path` is a statically linked 64-bit little-endian ELF executable (no PT_INTERP):
 * what an x86_64 init can run from any root. False for anything else, a missing file included.
 */
export async function isStaticElf(path: string): Promise<boolean> {
  const info = await readElf(path).catch(() => undefined);
  return info !== undefined && info.bits === 64 && info.littleEndian && info.interpreter === undefined;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

export function parseElf(buf: Buffer): ElfInfo | undefined {
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const bits = buf[4] === 2 ? 64 : buf[4] === 1 ? 32 : undefined;
  const le = buf[5] === 1;
  if (!bits) return undefined;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const word = bits === 64 ? u64 : u32;
  try {
    const machine = u16(18);
    const phoff = bits === 64 ? u64(32) : u32(28);
    const phentsize = u16(bits === 64 ? 54 : 42);
    const phnum = u16(bits === 64 ? 56 : 44);
    const segments: Segment[] = [];
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      if (bits === 64)
        segments.push({ type: u32(o), offset: u64(o + 8), vaddr: u64(o + 16), filesz: u64(o + 32) });
      else segments.push({ type: u32(o), offset: u32(o + 4), vaddr: u32(o + 8), filesz: u32(o + 16) });
    }
    const cString = (o: number) => {
      const end = buf.indexOf(0, o);
      return buf.toString('utf8', o, end < 0 ? buf.length : end);
    };
    const info: ElfInfo = { bits, littleEndian: le, machine, needed: [], rpath: [], runpath: [] };
    const interp = segments.find((s) => s.type === PT_INTERP);
    if (interp) info.interpreter = cString(interp.offset);
    const dyn = segments.find((s) => s.type === PT_DYNAMIC);
    if (!dyn) return info;
    const entSize = bits === 64 ? 16 : 8;
    const entries: [number, number][] = [];
    for (let o = dyn.offset; o + entSize <= dyn.offset + dyn.filesz; o += entSize) {
      const tag = word(o);
      if (tag === 0) break;
      entries.push([tag, word(o + entSize / 2)]);
    }
    const strtabAddr = entries.find(([t]) => t === DT_STRTAB)?.[1];
    if (strtabAddr === undefined) return info;
    // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segments.
    const load = segments.find(
      (s) => s.type === PT_LOAD && strtabAddr >= s.vaddr && strtabAddr < s.vaddr + s.filesz,
    );
    const strtab = load ? strtabAddr - load.vaddr + load.offset : strtabAddr;
    for (const [tag, val] of entries) {
      if (tag === DT_NEEDED) info.needed.push(cString(strtab + val));
      else if (tag === DT_RPATH)
        info.rpath.push(
          ...cString(strtab + val)
            .split(':')
            .filter(Boolean),
        );
      else if (tag === DT_RUNPATH)
        info.runpath.push(
          ...cString(strtab + val)
            .split(':')
            .filter(Boolean),
        );
      else if (tag === DT_SONAME) info.soname = cString(strtab + val);
    }
    return info;
  } catch {
    return undefined; // truncated or corrupt: not something the loader would use either
  }
}
