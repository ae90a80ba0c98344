import { copyFile, lstat, mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from '../rootfs/root-path.js';

/** Links Debian's kernel scripts leave at / and /boot; they dangle once the kernel moves out. */
const KERNEL_LINKS = ['vmlinuz', 'vmlinuz.old', 'initrd.img', 'initrd.img.old'];

/**
 * Move the kernel image to <bootfs>/vmlinuz (the contract the initrd and iso stages read),
 * and the version's other /boot files (config-, System.map-, a distro initrd.img-) next to
 * it, as VIC's base.sh copied them to bootfs: nothing in the running image reads them, and
 * every byte left in the root ends up in the initrd in RAM.
 */
export async function moveKernelToBootfs(
  root: string,
  bootfs: string,
  version: string,
  imagePath: string,
): Promise<string[]> {
  await mkdir(bootfs, { recursive: true });
  const moved: string[] = [];
  const image = await resolveInRoot(root, imagePath);
  await moveFile(image, join(bootfs, 'vmlinuz'));
  moved.push(`${imagePath} -> vmlinuz`);

  // A package that ships the image in /lib/modules/VERSION/ often has a copy in /boot too.
  const twin = await resolveInRoot(root, `/lib/modules/${version}/vmlinuz`);
  if (await isFile(twin)) await unlink(twin);

  const bootDir = await resolveInRoot(root, '/boot');
  for (const name of (await readdir(bootDir).catch(() => [] as string[])).sort()) {
    const path = join(bootDir, name);
    if (name.endsWith(`-${version}`) && (await isFile(path))) {
      await moveFile(path, join(bootfs, name));
      moved.push(`/boot/${name}`);
    }
  }
  for (const dir of ['/', '/boot']) {
    for (const name of KERNEL_LINKS) {
      const link = join(await resolveInRoot(root, dir), name);
      const st = await lstat(link).catch(() => undefined);
      if (
        st?.isSymbolicLink() &&
        !(await stat(await resolveInRoot(root, join(dir, name))).catch(() => undefined))
      )
        await rm(link);
    }
  }
  return moved;
}

/**
 * The inverse of moveKernelToBootfs, into a separate folder: `<dest>/boot/` holds the boot
 * tree's files under the names the kernel package installed them with (vmlinuz-VERSION...).
 * An exported root plus this is whole again: its package database lists the kernel, and the
 * kernel's files are where the package put them.
 */
export async function bootFilesAsInstalled(bootfs: string, version: string, dest: string): Promise<void> {
  const boot = join(dest, 'boot');
  await mkdir(boot, { recursive: true, mode: 0o755 });
  for (const name of (await readdir(bootfs)).sort()) {
    if (!(await isFile(join(bootfs, name)))) continue;
    await copyFile(join(bootfs, name), join(boot, name === 'vmlinuz' ? `vmlinuz-${version}` : name));
  }
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
    await unlink(from);
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isFile() ?? false;
}
