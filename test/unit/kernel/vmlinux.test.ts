import { gzipSync } from 'node:zlib';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { decompressLz4Legacy, extractVmlinux, findPayload, trimElf } from '../../../src/kernel/vmlinux.js';

/** A 64-bit little-endian ELF: header, one PT_LOAD segment, a body, the section table at the end. */
function fakeElf(body: Buffer): Buffer {
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2;
  header[5] = 1;
  header.writeBigUInt64LE(64n, 0x20); // phoff
  const shoff = 64 + 56 + body.length;
  header.writeBigUInt64LE(BigInt(shoff), 0x28);
  header.writeUInt16LE(56, 0x36);
  header.writeUInt16LE(1, 0x38);
  header.writeUInt16LE(64, 0x3a);
  header.writeUInt16LE(1, 0x3c);
  const phdr = Buffer.alloc(56);
  phdr.writeUInt32LE(1, 0);
  phdr.writeBigUInt64LE(120n, 8); // offset
  phdr.writeBigUInt64LE(BigInt(body.length), 32); // filesz
  return Buffer.concat([header, phdr, body, Buffer.alloc(64)]);
}

/** A bzImage around `payload`, laid out as boot protocol 2.08+ says (setup_sects = 1). */
function fakeBzImage(payload: Buffer): Buffer {
  const setup = Buffer.alloc(2 * 512);
  setup[0x1f1] = 1;
  setup.write('HdrS', 0x202, 'latin1');
  setup.writeUInt16LE(0x20f, 0x206);
  const offset = 100; // the decompressor's own code comes first
  setup.writeUInt32LE(offset, 0x248);
  setup.writeUInt32LE(payload.length, 0x24c);
  return Buffer.concat([setup, Buffer.alloc(offset, 0x90), payload, Buffer.alloc(37, 0xcc)]);
}

/** The kernel build appends the uncompressed size (4 bytes, LE) to every payload but gzip's. */
function sizeAppended(data: Buffer, size: number): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(size);
  return Buffer.concat([data, tail]);
}

// Compressible and not: repeats make lz4 emit overlapping matches, the random part long literals.
const body = Buffer.concat([
  Buffer.alloc(70_000, 'abcabcabd'),
  Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)),
]);
const elf = fakeElf(body);
const relocs = Buffer.alloc(300, 0xee); // CONFIG_RELOCATABLE's table, appended after the ELF

describe('vmlinux from a bzImage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-vmlinux-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('extracts a gzip payload and cuts the relocations after the ELF', async () => {
    const bz = fakeBzImage(gzipSync(Buffer.concat([elf, relocs])));
    expect(findPayload(bz).format).toBe('gzip');
    expect((await extractVmlinux(bz, run)).equals(elf)).toBe(true);
  });

  it("decodes lz4's legacy frame (what Debian's kernels use) as the lz4 tool does", async () => {
    const raw = Buffer.concat([elf, relocs]);
    await writeFile(join(dir, 'raw'), raw);
    await run('lz4', ['-l', '-9', '-q', '-f', join(dir, 'raw'), join(dir, 'raw.lz4')]);
    const lz4 = await readFile(join(dir, 'raw.lz4'));
    expect(decompressLz4Legacy(lz4, raw.length).equals(raw)).toBe(true);
    const bz = fakeBzImage(sizeAppended(lz4, raw.length));
    expect(findPayload(bz)).toMatchObject({ format: 'lz4', size: raw.length });
    expect((await extractVmlinux(bz, run)).equals(elf)).toBe(true);
  });

  it('hands xz and zstd payloads to their tools', async () => {
    const raw = Buffer.concat([elf, relocs]);
    for (const [tool, args] of [
      ['xz', ['--check=crc32', '-c']],
      ['zstd', ['-q', '-c']],
    ] as const) {
      const packed = (await run(tool, args, { input: raw, binaryStdout: true })).stdoutBuffer!;
      const bz = fakeBzImage(sizeAppended(packed, raw.length));
      expect(findPayload(bz).format).toBe(tool);
      expect((await extractVmlinux(bz, run)).equals(elf)).toBe(true);
    }
  });

  it('names what is wrong with a file that is no bzImage, or an unknown payload', () => {
    expect(() => findPayload(Buffer.alloc(4096), 'boot/vmlinuz')).toThrow(/boot\/vmlinuz: not a bzImage/);
    expect(() => findPayload(fakeBzImage(Buffer.alloc(64, 7)))).toThrow(
      /unknown payload compression \(starts 070707/,
    );
    expect(() => trimElf(Buffer.alloc(100))).toThrow(BuildError);
  });

  it('rejects a corrupt lz4 stream instead of writing a wrong kernel', () => {
    const lz4 = Buffer.from([0x02, 0x21, 0x4c, 0x18, 3, 0, 0, 0, 0x0f, 0x10, 0x00]);
    expect(() => decompressLz4Legacy(lz4, 100)).toThrow(BuildError);
  });
});
