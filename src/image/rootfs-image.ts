import { createHash } from 'node:crypto';
import { lstat, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import type { RunOptions, RunResult } from '../exec/run.js';
import { measureTree } from '../fs/measure-tree.js';
import { refreshLinkCounts } from '../fs/refresh-link-counts.js';
import { containerDiskBytes } from './containerfs.js';
import type { KernelConfig } from '../kernel/kernel-config.js';
import type { Compression, CompressionChoice } from '../spec/types.js';
import { formatBytes } from '../fs/disk-space.js';

type Runner = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** A UUID made from `seed`: the same inputs name the same file system (mkfs would pick a random one). */
export function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface TreeEntry {
  /** Path inside the tree, starting with /. */
  path: string;
  mtime: number;
}

/** Every entry under `root` (the root itself first) with its mtime, in name order: what debugfs must fix. */
export async function listTreeTimes(root: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [{ path: '/', mtime: Math.floor((await lstat(root)).mtimeMs / 1000) }];
  const visit = async (dir: string, rel: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const st = await lstat(join(dir, name));
      const path = `${rel}/${name}`;
      entries.push({ path, mtime: Math.floor(st.mtimeMs / 1000) });
      if (st.isDirectory()) await visit(join(dir, name), path);
    }
  };
  await visit(root, '');
  return entries;
}

export interface Ext4Options {
  /** Bytes; default: the content plus headroom. */
  size?: number;
  sourceDateEpoch: number;
  /** Seeds the file system's UUID and directory-hash seed. */
  seed: string;
  label?: string;
}

/**
 * e2fsprogs reads E2FSPROGS_FAKE_TIME as "unset" when it is 0, so the file system's own dates
 * use 1 s past the epoch when SOURCE_DATE_EPOCH is 0.
 */
export function ext4Epoch(sourceDateEpoch: number): number {
  return Math.max(1, sourceDateEpoch);
}

/**
 * rootfs.ext4 from a folder with `mkfs.ext4 -d` (no loop mount, no root needed beyond reading
 * the files). Reproducible: a UUID and hash seed from `seed`, the file system's dates from
 * E2FSPROGS_FAKE_TIME, and every inode's times set by debugfs afterwards, because mkfs copies
 * each file's ctime and atime from the host, which no one can set.
 */
export async function makeExt4Image(run: Runner, root: string, dest: string, o: Ext4Options): Promise<void> {
  const { bytes } = await measureTree(root);
  const entries = await listTreeTimes(root);
  const size = o.size ?? containerDiskBytes(bytes);
  if (size < bytes)
    throw new BuildError(
      `rootfs.ext4: ${formatBytes(size)} cannot hold the root's ${formatBytes(bytes)} of files: raise the size (IMG_SIZE, --size or microvm.size) or leave it unset`,
      'disk',
    );
  const epoch = ext4Epoch(o.sourceDateEpoch);
  const env = { E2FSPROGS_FAKE_TIME: String(epoch) };
  const uuid = stableUuid(o.seed);
  await rm(dest, { force: true });
  await writeFile(dest, '');
  await truncate(dest, size);
  await refreshLinkCounts(root, { stage: 'disk' });
  await run(
    'mkfs.ext4',
    [
      '-q',
      '-F',
      '-L',
      o.label ?? 'rootfs',
      '-U',
      uuid,
      '-E',
      `hash_seed=${uuid},root_owner=0:0`,
      '-N',
      String(Math.max(4096, entries.length * 2)),
      '-d',
      root,
      dest,
    ],
    { env },
  );
  const commands: string[] = [];
  for (const e of [...entries, { path: '/lost+found', mtime: epoch }]) {
    // debugfs reads a quoted path (a backslash in it is a plain character: systemd's escaped
    // unit names); names with quotes or newlines cannot be given to it.
    if (/["\n]/.test(e.path))
      throw new BuildError(
        `rootfs.ext4: cannot fix the times of ${JSON.stringify(e.path)} (debugfs cannot name it)`,
        'disk',
      );
    const t = Math.min(e.mtime, epoch);
    for (const field of ['mtime', 'ctime', 'atime', 'crtime'])
      commands.push(`sif "${e.path}" ${field} @${t}`);
  }
  const script = `${dest}.debugfs`;
  await writeFile(script, commands.join('\n') + '\n');
  try {
    const res = await run('debugfs', ['-w', '-f', script, dest], { env });
    // debugfs reports failed requests on stderr but exits 0.
    const failed = res.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('debugfs '));
    if (failed.length)
      throw new BuildError(
        `rootfs.ext4: debugfs could not set the times:\n${failed.slice(0, 5).join('\n')}`,
        'disk',
      );
  } finally {
    await rm(script, { force: true });
  }
}

/**
 * A squashfs root is read all the time the VM runs, not unpacked once at boot: zstd's smaller
 * image wins over lz4's faster decompression, so `auto` never takes lz4 here.
 */
const SQUASHFS_AUTO_ORDER: readonly Compression[] = ['zstd', 'gzip', 'xz'];

/** mksquashfs's compressor for each compression, and the kernel option that reads it. */
const SQUASHFS_COMP: Record<Compression, { comp: string; kernelOption: string }> = {
  lz4: { comp: 'lz4', kernelOption: 'CONFIG_SQUASHFS_LZ4' },
  zstd: { comp: 'zstd', kernelOption: 'CONFIG_SQUASHFS_ZSTD' },
  gzip: { comp: 'gzip', kernelOption: 'CONFIG_SQUASHFS_ZLIB' },
  xz: { comp: 'xz', kernelOption: 'CONFIG_SQUASHFS_XZ' },
};

/**
 * The squashfs compression for the spec's choice: an explicit one as it is; `auto` the first of
 * SQUASHFS_AUTO_ORDER the kernel's squashfs reads (gzip when the kernel came without a config).
 */
export function squashfsCompression(
  choice: CompressionChoice,
  config: KernelConfig | undefined,
): Compression {
  if (choice !== 'auto') return choice;
  if (!config) return 'gzip';
  return SQUASHFS_AUTO_ORDER.find((c) => config.enabled.has(SQUASHFS_COMP[c].kernelOption)) ?? 'gzip';
}

export function squashfsArgs(
  root: string,
  dest: string,
  compression: Compression,
  sourceDateEpoch: number,
  zeroOwners: boolean,
): string[] {
  return [
    root,
    dest,
    '-noappend',
    '-no-progress',
    '-comp',
    SQUASHFS_COMP[compression].comp,
    '-reproducible',
    '-mkfs-time',
    String(sourceDateEpoch),
    '-all-time',
    String(sourceDateEpoch),
    // Owners as the package manager set them when built as root; 0:0 for a rootless build.
    ...(zeroOwners ? ['-all-root'] : []),
  ];
}

/** rootfs.squashfs: read-only, sorted by mksquashfs, every date SOURCE_DATE_EPOCH. */
export async function makeSquashfsImage(
  run: Runner,
  root: string,
  dest: string,
  compression: Compression,
  sourceDateEpoch: number,
): Promise<void> {
  await rm(dest, { force: true });
  await refreshLinkCounts(root, { stage: 'disk' });
  await run('mksquashfs', squashfsArgs(root, dest, compression, sourceDateEpoch, process.geteuid?.() !== 0));
}
