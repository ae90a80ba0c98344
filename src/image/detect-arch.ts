import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { DEFAULT_ARCH, type Arch } from '../spec/arch.js';

/** ELF e_machine values of the architectures isobuild builds. */
const ELF_MACHINES: Readonly<Record<number, Arch>> = { 62: 'amd64', 183: 'arm64' };

/**
 * A kernel's architecture from its first bytes: arm64's Image header has "ARM\x64" at 0x38, an
 * x86 bzImage "HdrS" at 0x202, an ELF vmlinux its e_machine. Undefined for anything else (a
 * compressed Image, say).
 */
export function kernelArchOf(head: Buffer): Arch | undefined {
  if (head.length >= 0x3c && head.toString('latin1', 0x38, 0x3c) === 'ARM\x64') return 'arm64';
  if (head.length >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS') return 'amd64';
  if (head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46 && head[5] === 1)
    return ELF_MACHINES[head.readUInt16LE(18)];
  return undefined;
}

/** kernelArchOf on a file's first bytes; the default architecture when they say nothing. */
export async function kernelFileArch(file: string): Promise<Arch> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(0x240);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return kernelArchOf(head.subarray(0, bytesRead)) ?? DEFAULT_ARCH;
  } finally {
    await fh.close();
  }
}

/**
 * An ISO's architecture, from the kernel it boots: the first of `kernels` (the profiles' paths)
 * that it holds, extracted with xorriso. An ISO without one is taken as the default's.
 */
export async function isoArch(iso: string, kernels: readonly string[]): Promise<Arch> {
  const work = await mkdtemp(join(tmpdir(), 'isobuild-isoarch-'));
  try {
    for (const kernel of kernels) {
      const out = join(work, 'kernel');
      const res = await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', `/${kernel}`, out], {
        allowFailure: true,
      });
      if (res.exitCode === 0) return await kernelFileArch(out).catch(() => DEFAULT_ARCH);
    }
    return DEFAULT_ARCH;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
