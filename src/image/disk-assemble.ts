import { chmod, copyFile, mkdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RunOptions, RunResult } from '../exec/run.js';
import { InternalError } from '../errors.js';
import { fatEnv, makeFatImage } from './efi.js';
import { clampTimes } from './files.js';
import { makeExt4Image } from './rootfs-image.js';
import { GPTMBR_BIN } from './boot-assets.js';
import { MIB, SECTOR, sfdiskScript, type DiskIds, type DiskLayout, type Partition } from './disk-layout.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** Where things sit on the ESP: the loaders' configurations name the same paths. */
export const ESP_PATHS = {
  kernel: 'vmlinuz',
  initrd: 'initrd.img',
  efiLoader: 'EFI/BOOT/BOOTX64.EFI',
  syslinuxDir: 'syslinux',
} as const;

/** The FAT volume id as GRUB's `search --fs-uuid` prints it: XXXX-XXXX. */
export function fatUuid(volumeId: string): string {
  return `${volumeId.slice(0, 4)}-${volumeId.slice(4, 8)}`.toUpperCase();
}

/**
 * What goes onto the ESP besides its boot sector: the kernel and initrd the loaders start, the
 * UEFI loader files under EFI/ (an unsigned GRUB, a signed chain, a UKI: whatever the caller
 * made), and text files the loaders read (syslinux.cfg, a signed GRUB's grub.cfg).
 */
export interface EspContent {
  kernel: string;
  initrd?: string;
  /** Path in the ESP (under EFI/) → host file; none: no UEFI loader. */
  efi?: Readonly<Record<string, string>>;
  /** Path in the ESP → content. */
  text?: Readonly<Record<string, string>>;
}

/** The ESP's files, laid out in `tree` with clamped dates (what mcopy copies). */
export async function stageEspTree(
  content: EspContent,
  tree: string,
  sourceDateEpoch: number,
): Promise<void> {
  const files: [string, string | { copyOf: string }][] = [[ESP_PATHS.kernel, { copyOf: content.kernel }]];
  if (content.initrd) files.push([ESP_PATHS.initrd, { copyOf: content.initrd }]);
  for (const [inEsp, from] of Object.entries(content.efi ?? {})) {
    if (!inEsp.startsWith('EFI/')) throw new InternalError(`UEFI loader path outside EFI/: ${inEsp}`);
    files.push([inEsp, { copyOf: from }]);
  }
  for (const [inEsp, text] of Object.entries(content.text ?? {})) files.push([inEsp, text]);
  const dirs = new Set<string>();
  for (const [inEsp, what] of files) {
    const path = join(tree, inEsp);
    await mkdir(dirname(path), { recursive: true });
    if (typeof what === 'string') await writeFile(path, what);
    else await copyFile(what.copyOf, path);
    await clampTimes(path, sourceDateEpoch);
    for (let d = dirname(inEsp); d !== '.'; d = dirname(d)) dirs.add(d);
  }
  for (const d of dirs) await clampTimes(join(tree, d), sourceDateEpoch);
}

/**
 * The ESP as a FAT image for the layout's partition: mkfs.vfat records the partition's first
 * sector (BPB hidden sectors) so that syslinux's boot sector finds ldlinux.sys on the disk;
 * `syslinux --install` writes ldlinux.sys/ldlinux.c32 and the boot sector through mtools.
 */
export async function makeEspImage(
  run: Runner,
  tree: string,
  image: string,
  o: { layout: DiskLayout; ids: DiskIds; bios: boolean; sourceDateEpoch: number },
): Promise<void> {
  await makeFatImage(run, tree, image, {
    bytes: o.layout.esp.bytes,
    volumeId: o.ids.espVolumeId,
    label: 'ESP',
    hiddenSectors: o.layout.esp.offset / SECTOR,
    sourceDateEpoch: o.sourceDateEpoch,
  });
  if (o.bios)
    await run('syslinux', ['--install', '--directory', `/${ESP_PATHS.syslinuxDir}`, image], {
      env: fatEnv(o.sourceDateEpoch),
    });
}

/** Copies a file system image into the disk at `offset` (whole MiB), keeping holes. */
async function writeAt(run: Runner, image: string, disk: string, offset: number): Promise<void> {
  await run('dd', [
    `if=${image}`,
    `of=${disk}`,
    'bs=1M',
    `seek=${offset / MIB}`,
    'conv=notrunc,sparse',
    'status=none',
  ]);
}

/**
 * The raw GPT disk: sfdisk writes the partition table into a sparse file, gptmbr.bin goes into
 * the MBR's boot code (the first 440 bytes, before the disk signature and the protective
 * entry), and the file systems are copied in at their partitions' offsets: no loop devices.
 */
export async function assembleDisk(
  run: Runner,
  dest: string,
  o: {
    layout: DiskLayout;
    ids: DiskIds;
    espImage: string;
    rootImage: string;
    /** The overlay partition's ext4, when the layout has one. */
    overlayImage?: string;
    bios: boolean;
  },
): Promise<void> {
  await rm(dest, { force: true });
  await writeFile(dest, '');
  await truncate(dest, o.layout.bytes);
  await run('sfdisk', ['--no-reread', '--no-tell-kernel', '--quiet', '--wipe', 'never', dest], {
    input: sfdiskScript(o.layout, o.ids),
  });
  if (o.bios)
    await run('dd', [`if=${GPTMBR_BIN}`, `of=${dest}`, 'bs=440', 'count=1', 'conv=notrunc', 'status=none']);
  await writeAt(run, o.espImage, dest, o.layout.esp.offset);
  await writeAt(run, o.rootImage, dest, o.layout.root.offset);
  if (o.layout.overlay) {
    if (!o.overlayImage) throw new InternalError('the layout has an overlay partition but no image for it');
    await writeAt(run, o.overlayImage, dest, o.layout.overlay.offset);
  }
  await chmod(dest, 0o644);
}

/** The root partition's ext4 file system, sized to fill it (see makeExt4Image for its dates and ids). */
export async function makeRootImage(
  run: Runner,
  root: string,
  image: string,
  o: { layout: DiskLayout; seed: string; sourceDateEpoch: number },
): Promise<void> {
  await makeExt4Image(run, root, image, {
    size: o.layout.root.bytes,
    sourceDateEpoch: o.sourceDateEpoch,
    seed: `${o.seed}/root.ext4`,
    label: 'root',
  });
  if ((await stat(image)).size !== o.layout.root.bytes) await truncate(image, o.layout.root.bytes);
}

/**
 * A squashfs root's writable partition: an empty ext4 (upper/ and work/ made by the initrd at
 * the first boot) filling the overlay partition, with an id and dates from the build.
 */
export async function makeOverlayImage(
  run: Runner,
  emptyDir: string,
  image: string,
  o: { partition: Partition; seed: string; sourceDateEpoch: number },
): Promise<void> {
  await mkdir(emptyDir, { recursive: true });
  await clampTimes(emptyDir, o.sourceDateEpoch);
  await makeExt4Image(run, emptyDir, image, {
    size: o.partition.bytes,
    sourceDateEpoch: o.sourceDateEpoch,
    seed: `${o.seed}/overlay.ext4`,
    label: 'overlay',
  });
}
