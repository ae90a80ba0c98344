import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeclaredTool } from '../exec/host-tools.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { mergeTree } from '../rootfs/merge-tree.js';
import { listPackageTree, recordKernelDebs } from './record-kernel-deb.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export interface KernelFile {
  path: string;
  format: 'rpm' | 'deb';
}

/**
 * Unpack kernel package files into the root without their package manager, as VIC's base.sh
 * did with `rpm2cpio | cpio -idm`. Each archive goes to a scratch folder first and is then
 * merged (mergeKernelFiles), so links in the root such as lib -> usr/lib survive (cpio and
 * dpkg-deb -x would replace them with plain folders).
 */
export async function extractKernelFiles(
  kernels: readonly KernelFile[],
  root: string,
  o: MergeKernelOptions,
): Promise<void> {
  const scratch = await mkdtemp(join(o.tmpDir, 'kernel-'));
  try {
    const unpacked: UnpackedKernel[] = [];
    for (const [i, file] of kernels.entries()) {
      const dir = join(scratch, String(i));
      await mkdir(dir);
      await unpackKernelFile(file, dir, o.run);
      unpacked.push({ file, dir });
    }
    await mergeKernelFiles(unpacked, root, o);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface UnpackedKernel {
  file: KernelFile;
  /** The scratch folder unpackKernelFile put its files in. */
  dir: string;
}

export interface MergeKernelOptions {
  tmpDir: string;
  run: Runner;
  stage?: string;
  /** SOURCE_DATE_EPOCH, for the dpkg database files written. */
  epoch?: number;
}

/**
 * The second half: the unpacked files merged into the root, and the .debs recorded in the root's
 * dpkg database (when it has one) as installed, without their scripts (recordKernelDebs).
 */
export async function mergeKernelFiles(
  unpacked: readonly UnpackedKernel[],
  root: string,
  o: MergeKernelOptions,
): Promise<void> {
  const debs = [];
  for (const u of unpacked)
    if (u.file.format === 'deb') debs.push({ deb: u.file.path, paths: await listPackageTree(u.dir) });
  for (const u of unpacked) await mergeTree(u.dir, root, { stage: o.stage });
  await recordKernelDebs(root, debs, o);
}

/**
 * The first half of extractKernelFiles: the package's files in an empty scratch folder. It needs
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

export function kernelFileTools(format: KernelFile['format']): DeclaredTool[] {
  return format === 'rpm'
    ? [
        // rpm2cpio has no version switch of its own (it would read a file named --version).
        { tool: 'rpm2cpio', reason: 'unpack the kernel .rpm named by the spec', version: 'none' },
        { tool: 'cpio', reason: 'unpack the kernel .rpm named by the spec', version: ['--version'] },
      ]
    : [{ tool: 'dpkg-deb', reason: 'unpack the kernel .deb named by the spec', version: ['--version'] }];
}

export function describeKernelFile(kernel: KernelFile): string[] {
  return kernel.format === 'rpm'
    ? [
        `rpm2cpio ${kernel.path} | (cd $TMP/kernel && cpio -idm --no-absolute-filenames)`,
        'merge $TMP/kernel into ROOT',
      ]
    : [
        `dpkg-deb -x ${kernel.path} $TMP/kernel`,
        'merge $TMP/kernel into ROOT',
        '# record it in ROOT/var/lib/dpkg (status entry, info/PKG.list, md5sums) when ROOT has one,',
        '#   pinned in ROOT/etc/apt/preferences.d/isobuild-kernel; its scripts never run',
      ];
}
