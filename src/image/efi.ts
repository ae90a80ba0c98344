import { copyFile, mkdir, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RunOptions, RunResult } from '../exec/run.js';
import { GRUB_EFI_DIR, GRUB_MODULES } from './boot-assets.js';
import { clampTimes } from './files.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** Where grub-mkimage finds a GRUB platform's modules, and that platform (its --format). */
export interface GrubPlatform {
  readonly format: string;
  readonly dir: string;
}

/** The host's own GRUB (grub-efi-amd64-bin): what a native build uses. */
export const HOST_GRUB_EFI: GrubPlatform = { format: 'x86_64-efi', dir: GRUB_EFI_DIR };

/**
 * BOOTX64.EFI (BOOTAA64.EFI for arm64): GRUB with its configuration embedded (grub-mkimage -c),
 * so nothing on the ISO has to be found before the kernel. grub-mkimage writes the same bytes
 * for the same inputs, unlike grub-mkstandalone whose memdisk tar carries the build time. The
 * host's grub-mkimage writes any platform's image from that platform's modules.
 */
export async function makeGrubEfi(
  run: Runner,
  grubCfg: string,
  workDir: string,
  grub: GrubPlatform = HOST_GRUB_EFI,
): Promise<string> {
  const cfg = join(workDir, 'grub-embedded.cfg');
  const out = join(workDir, 'grub.efi');
  await writeFile(cfg, withoutComments(grubCfg));
  await run('grub-mkimage', [
    `--format=${grub.format}`,
    `--directory=${grub.dir}`,
    `--output=${out}`,
    '--prefix=/boot/grub',
    `--config=${cfg}`,
    ...GRUB_MODULES,
  ]);
  return out;
}

/**
 * GRUB runs an embedded config with its rescue parser, which has no comments: each `#` line
 * would print "Unknown command `#'" on the console at every boot. The readable copy on the
 * medium keeps them.
 */
export function withoutComments(grubCfg: string): string {
  return grubCfg
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
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
  /** The firmware's removable-media path for the architecture (ArchFacts.efiBootFile). */
  bootFile = 'EFI/BOOT/BOOTX64.EFI',
): Promise<string> {
  return makeEspImage(run, { [bootFile]: loader }, workDir, sourceDateEpoch);
}

/** makeEfiImage with any files under EFI/ (path in the ESP → host file): a signed chain has two. */
export async function makeEspImage(
  run: Runner,
  files: Record<string, string>,
  workDir: string,
  sourceDateEpoch: number,
): Promise<string> {
  const tree = join(workDir, 'efi-tree');
  let bytes = 0;
  const dirs = new Set<string>();
  for (const [inEsp, from] of Object.entries(files)) {
    if (!inEsp.startsWith('EFI/')) throw new Error(`ESP path outside EFI/: ${inEsp}`);
    const to = join(tree, inEsp);
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to);
    await clampTimes(to, sourceDateEpoch);
    bytes += (await stat(from)).size;
    for (let d = dirname(inEsp); d !== '.'; d = dirname(d)) dirs.add(d);
  }
  for (const d of [...dirs].sort().reverse()) await clampTimes(join(tree, d), sourceDateEpoch);

  const image = join(workDir, 'efiboot.img');
  await makeFatImage(run, tree, image, {
    bytes: efiImageBytes(bytes),
    volumeId: '15011500',
    label: 'EFIBOOT',
    sourceDateEpoch,
  });
  return image;
}

export interface FatImageOptions {
  bytes: number;
  /** The FAT volume id, 8 hex digits (mkfs.vfat would take it from the clock). */
  volumeId: string;
  label: string;
  /** The partition's first sector when the image goes into a partitioned disk (BPB hidden sectors). */
  hiddenSectors?: number;
  sourceDateEpoch: number;
}

/**
 * A FAT file system holding `tree`'s entries, made with mkfs.vfat --invariant and mcopy (no loop
 * mounts). mtools takes file dates from SOURCE_DATE_EPOCH and mcopy -m keeps the (clamped)
 * mtimes, so the image is byte-stable.
 */
export async function makeFatImage(
  run: Runner,
  tree: string,
  image: string,
  o: FatImageOptions,
): Promise<void> {
  await writeFile(image, '');
  await truncate(image, o.bytes);
  const env = fatEnv(o.sourceDateEpoch);
  await run(
    'mkfs.vfat',
    [
      '--invariant',
      '-i',
      o.volumeId,
      '-n',
      o.label,
      ...(o.hiddenSectors !== undefined ? ['-h', String(o.hiddenSectors)] : []),
      image,
    ],
    { env },
  );
  const entries = (await readdir(tree)).sort();
  if (entries.length)
    await run('mcopy', ['-s', '-m', '-i', image, ...entries.map((e) => join(tree, e)), '::/'], { env });
  await clampTimes(image, o.sourceDateEpoch);
}

/** The environment mtools runs in: dates from SOURCE_DATE_EPOCH, no geometry check on an image file. */
export function fatEnv(sourceDateEpoch: number): Record<string, string> {
  return { SOURCE_DATE_EPOCH: String(sourceDateEpoch), MTOOLS_SKIP_CHECK: '1' };
}
