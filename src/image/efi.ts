import { copyFile, mkdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunOptions, RunResult } from '../exec/run.js';
import { GRUB_EFI_DIR, GRUB_MODULES } from './boot-assets.js';
import { clampTimes } from './files.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/**
 * BOOTX64.EFI: GRUB with its configuration embedded (grub-mkimage -c), so nothing on the
 * ISO has to be found before the kernel. grub-mkimage writes the same bytes for the same
 * inputs, unlike grub-mkstandalone whose memdisk tar carries the build time.
 */
export async function makeGrubEfi(run: Runner, grubCfg: string, workDir: string): Promise<string> {
  const cfg = join(workDir, 'grub-embedded.cfg');
  const out = join(workDir, 'BOOTX64.EFI');
  await writeFile(cfg, grubCfg);
  await run('grub-mkimage', [
    '--format=x86_64-efi',
    `--directory=${GRUB_EFI_DIR}`,
    `--output=${out}`,
    '--prefix=/boot/grub',
    `--config=${cfg}`,
    ...GRUB_MODULES,
  ]);
  return out;
}

/** FAT image size: the loader plus room for FAT tables and directories, whole MiB, at least 2 MiB. */
export function efiImageBytes(loaderBytes: number): number {
  const mib = 1024 * 1024;
  return Math.max(2, Math.ceil((loaderBytes + mib / 2) / mib)) * mib;
}

/**
 * The El Torito EFI boot image: a FAT file system holding /EFI/BOOT/BOOTX64.EFI, made with
 * mkfs.vfat --invariant and mcopy (no loop mounts). mtools takes file dates from
 * SOURCE_DATE_EPOCH and mcopy -m keeps the (clamped) mtime, so the image is byte-stable.
 */
export async function makeEfiImage(
  run: Runner,
  loader: string,
  workDir: string,
  sourceDateEpoch: number,
): Promise<string> {
  const tree = join(workDir, 'efi-tree');
  const bootDir = join(tree, 'EFI', 'BOOT');
  await mkdir(bootDir, { recursive: true });
  await copyFile(loader, join(bootDir, 'BOOTX64.EFI'));
  for (const p of [join(bootDir, 'BOOTX64.EFI'), bootDir, join(tree, 'EFI')])
    await clampTimes(p, sourceDateEpoch);

  const image = join(workDir, 'efiboot.img');
  await writeFile(image, '');
  await truncate(image, efiImageBytes((await stat(loader)).size));
  const env = { SOURCE_DATE_EPOCH: String(sourceDateEpoch), MTOOLS_SKIP_CHECK: '1' };
  await run('mkfs.vfat', ['--invariant', '-i', '15011500', '-n', 'EFIBOOT', image], { env });
  await run('mcopy', ['-s', '-m', '-i', image, join(tree, 'EFI'), '::/'], { env });
  await clampTimes(image, sourceDateEpoch);
  return image;
}
