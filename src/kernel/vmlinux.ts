import { gunzipSync } from 'node:zlib';
import { BuildError } from '../errors.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import type { RunOptions, RunResult } from '../exec/run.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/**
 * Compressions a bzImage payload can use (the kernel's CONFIG_KERNEL_*), told apart by their
 * magic as the kernel's scripts/extract-vmlinux does. gzip and lz4 are decompressed here; the
 * others by their tool, which reads the stream from stdin.
 */
export const PAYLOAD_FORMATS = {
  gzip: { magic: [0x1f, 0x8b, 0x08], tool: undefined },
  lz4: { magic: [0x02, 0x21, 0x4c, 0x18], tool: undefined },
  xz: { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], tool: ['xz', '-dc', '--single-stream'] },
  zstd: { magic: [0x28, 0xb5, 0x2f, 0xfd], tool: ['zstd', '-dc'] },
  bzip2: { magic: [0x42, 0x5a, 0x68], tool: ['bzip2', '-dc'] },
  lzma: { magic: [0x5d, 0x00, 0x00], tool: ['xz', '-dc', '--format=lzma'] },
  lzo: { magic: [0x89, 0x4c, 0x5a, 0x4f], tool: ['lzop', '-dc'] },
} as const;
export type PayloadFormat = keyof typeof PAYLOAD_FORMATS;

export interface BzImagePayload {
  format: PayloadFormat;
  /** The compressed stream, without the 4-byte size the kernel build appends. */
  data: Buffer;
  /** The uncompressed size the kernel build appended (gzip's ISIZE for gzip). */
  size: number;
}

/**
 * Finds the compressed kernel in a bzImage through its boot-protocol header (2.08+):
 * payload_offset and payload_length at 0x248, relative to the protected-mode code that starts
 * after the (setup_sects + 1) real-mode sectors. Exact, unlike scanning for a magic.
 */
export function findPayload(bzImage: Buffer, name = 'bzImage'): BzImagePayload {
  if (bzImage.length < 0x250 || bzImage.toString('latin1', 0x202, 0x206) !== 'HdrS')
    throw new BuildError(`${name}: not a bzImage (no "HdrS" boot header at 0x202)`);
  const version = bzImage.readUInt16LE(0x206);
  if (version < 0x208)
    throw new BuildError(
      `${name}: boot protocol ${version.toString(16)} has no payload fields (needs 2.08+)`,
    );
  const setupSectors = bzImage[0x1f1] || 4;
  const start = (setupSectors + 1) * 512 + bzImage.readUInt32LE(0x248);
  const length = bzImage.readUInt32LE(0x24c);
  if (start + length > bzImage.length)
    throw new BuildError(`${name}: payload (${start}+${length}) runs past the end of the file`);
  const payload = bzImage.subarray(start, start + length);
  const format = (Object.keys(PAYLOAD_FORMATS) as PayloadFormat[]).find((f) =>
    PAYLOAD_FORMATS[f].magic.every((b, i) => payload[i] === b),
  );
  if (!format)
    throw new BuildError(
      `${name}: unknown payload compression (starts ${payload.subarray(0, 6).toString('hex')})`,
    );
  return {
    format,
    data: format === 'gzip' ? payload : payload.subarray(0, length - 4),
    size: payload.readUInt32LE(length - 4),
  };
}

/**
 * LZ4's legacy frame (what `lz4 -l` writes for the kernel): the magic, then blocks each
 * prefixed by its compressed size, until the output reaches `size`.
 */
export function decompressLz4Legacy(input: Buffer, size: number): Buffer {
  try {
    return decodeLz4Blocks(input, size);
  } catch (err) {
    // Buffer reads past the end of a truncated or corrupt stream throw RangeError.
    if ((err as NodeJS.ErrnoException).code === 'ERR_OUT_OF_RANGE')
      throw new BuildError('lz4: the payload ends inside a sequence (corrupt or truncated)');
    throw err;
  }
}

function decodeLz4Blocks(input: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  let ip = 4;
  let op = 0;
  while (ip + 4 <= input.length && op < size) {
    const blockEnd = ip + 4 + input.readUInt32LE(ip);
    ip += 4;
    if (blockEnd > input.length) throw new BuildError('lz4: a block runs past the end of the payload');
    while (ip < blockEnd) {
      const token = input.readUInt8(ip++);
      let literals = token >> 4;
      if (literals === 15) {
        let b;
        do literals += b = input.readUInt8(ip++);
        while (b === 255);
      }
      if (op + literals > size) throw new BuildError('lz4: output longer than the size the kernel recorded');
      input.copy(out, op, ip, ip + literals);
      ip += literals;
      op += literals;
      if (ip >= blockEnd) break; // the last sequence of a block has literals only
      const offset = input.readUInt16LE(ip);
      ip += 2;
      let match = token & 15;
      if (match === 15) {
        let b;
        do match += b = input.readUInt8(ip++);
        while (b === 255);
      }
      match += 4;
      if (offset === 0 || offset > op) throw new BuildError('lz4: a match points before the start');
      if (op + match > size) throw new BuildError('lz4: output longer than the size the kernel recorded');
      // Byte by byte: a match may overlap the bytes it is producing.
      for (let from = op - offset, end = op + match; op < end; ) out[op++] = out[from++]!;
    }
  }
  if (op !== size) throw new BuildError(`lz4: got ${op} bytes, the kernel recorded ${size}`);
  return out;
}

/**
 * The decompressed payload is the stripped vmlinux ELF with the relocation table appended
 * (CONFIG_RELOCATABLE): cut it where the ELF ends (its last segment, section or header table).
 */
export function trimElf(buf: Buffer, name = 'vmlinux'): Buffer {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1)
    throw new BuildError(`${name}: the decompressed kernel is not a 64-bit little-endian ELF`);
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  let end = Math.max(64, phoff + phentsize * phnum, shoff + shentsize * shnum);
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    end = Math.max(end, Number(buf.readBigUInt64LE(p + 8) + buf.readBigUInt64LE(p + 32)));
  }
  for (let i = 0; i < shnum; i++) {
    const s = shoff + i * shentsize;
    const SHT_NOBITS = 8;
    if (buf.readUInt32LE(s + 4) !== SHT_NOBITS)
      end = Math.max(end, Number(buf.readBigUInt64LE(s + 24) + buf.readBigUInt64LE(s + 32)));
  }
  if (end > buf.length)
    throw new BuildError(`${name}: the ELF claims ${end} bytes, the payload has ${buf.length}`);
  return buf.subarray(0, end);
}

/**
 * The uncompressed ELF kernel (what Firecracker loads on x86) from a bzImage, the way the
 * kernel's extract-vmlinux gets it, without its shell pipeline.
 */
export async function extractVmlinux(bzImage: Buffer, run: Runner, name = 'bzImage'): Promise<Buffer> {
  const payload = findPayload(bzImage, name);
  let raw: Buffer;
  if (payload.format === 'gzip') raw = gunzipSync(payload.data);
  else if (payload.format === 'lz4') raw = decompressLz4Legacy(payload.data, payload.size);
  else {
    const [tool, ...args] = PAYLOAD_FORMATS[payload.format].tool;
    raw =
      (await run(tool, args, { input: payload.data, binaryStdout: true })).stdoutBuffer ?? Buffer.alloc(0);
  }
  return trimElf(raw, `${name} (${payload.format} payload)`);
}

/**
 * The decompressors extractVmlinux may run, for the commands of a stage that calls it: which
 * one is known only from the kernel, and their versions do not change what they decompress.
 * lzo payloads (lzop) are left out: few kernels use them, and lzop is rarely installed.
 */
export const VMLINUX_COMMANDS: readonly DeclaredTool[] = (['xz', 'zstd', 'bzip2'] as const).map((tool) => ({
  tool,
  reason: "decompress the kernel's payload to extract vmlinux (when it is compressed so)",
  version: 'none',
}));

/** The tool a payload needs on the host, if any (for preflight). */
export function payloadTool(format: PayloadFormat): string | undefined {
  return PAYLOAD_FORMATS[format].tool?.[0];
}
