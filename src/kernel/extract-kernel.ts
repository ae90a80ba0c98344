import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ToolNeed } from '../exec/host-tools.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { mergeTree } from '../rootfs/merge-tree.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export interface KernelFile {
  path: string;
  format: 'rpm' | 'deb';
}

/**
 * Unpack a kernel package file into the root without its package manager, as VIC's base.sh
 * did with `rpm2cpio | cpio -idm`. The archive goes to a scratch folder first and is then
 * merged, so links in the root such as lib -> usr/lib survive (cpio and dpkg-deb -x would
 * replace them with plain folders).
 */
export async function extractKernelFile(
  kernel: KernelFile,
  root: string,
  tmpDir: string,
  run: Runner,
  stage?: string,
): Promise<void> {
  const scratch = await mkdtemp(join(tmpDir, 'kernel-'));
  try {
    await unpackKernelFile(kernel, scratch, run);
    await mergeTree(scratch, root, { stage });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The first half of extractKernelFile: the package's files in an empty scratch folder. It needs
 * no root, so iso-base runs it while the package manager is still making one, and merges later.
 */
export async function unpackKernelFile(kernel: KernelFile, scratch: string, run: Runner): Promise<void> {
  if (kernel.format === 'rpm') {
    const cpio = await run('rpm2cpio', [kernel.path], { binaryStdout: true });
    await run('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], {
      cwd: scratch,
      input: cpio.stdoutBuffer ?? Buffer.alloc(0),
    });
  } else {
    await run('dpkg-deb', ['-x', kernel.path, scratch]);
  }
}

export function kernelFileTools(format: KernelFile['format']): ToolNeed[] {
  return format === 'rpm'
    ? [
        { tool: 'rpm2cpio', reason: 'unpack the kernel .rpm named by the spec' },
        { tool: 'cpio', reason: 'unpack the kernel .rpm named by the spec' },
      ]
    : [{ tool: 'dpkg-deb', reason: 'unpack the kernel .deb named by the spec' }];
}

export function describeKernelFile(kernel: KernelFile): string[] {
  return kernel.format === 'rpm'
    ? [
        `rpm2cpio ${kernel.path} | (cd $TMP/kernel && cpio -idm --no-absolute-filenames)`,
        'merge $TMP/kernel into ROOT',
      ]
    : [`dpkg-deb -x ${kernel.path} $TMP/kernel`, 'merge $TMP/kernel into ROOT'];
}
