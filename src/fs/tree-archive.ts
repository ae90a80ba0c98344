import { run, type RunOptions } from '../exec/run.js';
import { refreshLinkCounts } from './refresh-link-counts.js';

/**
 * One way to turn a tree into a tar archive whose bytes depend only on the tree: names
 * sorted, numeric owners and no user names, mtimes clamped to SOURCE_DATE_EPOCH, and pax
 * headers without atime/ctime or the pid GNU tar puts in their names by default (with
 * `--xattrs` those made two archives of one tree differ).
 */
export type TarCompression = 'none' | 'gzip' | 'zstd' | 'xz';

const COMPRESS_FLAGS: Record<TarCompression, string[]> = {
  none: [],
  gzip: ['--gzip'],
  // tar's --zstd runs zstd at its default level, single-threaded: the same bytes every time.
  zstd: ['--zstd'],
  xz: ['--xz'],
};

export async function createTreeArchive(
  dir: string,
  file: string,
  sourceDateEpoch: number,
  compression: TarCompression = 'none',
  opts: Pick<RunOptions, 'logger' | 'stage'> = {},
): Promise<void> {
  // tar stores a second name as a link only when the first one's count says it has one.
  await refreshLinkCounts(dir, opts);
  await run(
    'tar',
    [
      '--create',
      '--file',
      file,
      ...COMPRESS_FLAGS[compression],
      '--format=posix',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
      '--sort=name',
      '--numeric-owner',
      '--xattrs',
      `--mtime=@${sourceDateEpoch}`,
      '--clamp-mtime',
      '--directory',
      dir,
      '.',
    ],
    // gzip -n: no name or time in the gzip header.
    { ...opts, env: { GZIP: '-n' } },
  );
}

/** Unpack an archive made by createTreeArchive, keeping owners, modes and extended attributes. */
export async function extractTreeArchive(
  file: string,
  dir: string,
  opts: Pick<RunOptions, 'logger' | 'stage'> = {},
): Promise<void> {
  await run(
    'tar',
    [
      '--extract',
      '--file',
      file,
      '--numeric-owner',
      '--same-owner',
      '--preserve-permissions',
      '--xattrs',
      '--xattrs-include=*',
      '--directory',
      dir,
    ],
    opts,
  );
}

/**
 * A ustar archive of the named files of `dir`, in the order given (OVF wants its descriptor
 * first: a reader may stream the archive), with the same bytes for the same files: owner 0:0 by
 * number, mode 0644, every mtime SOURCE_DATE_EPOCH. ustar stores no file above 8 GiB; GNU tar
 * then fails, naming the file.
 */
export async function createOrderedArchive(
  dir: string,
  names: readonly string[],
  file: string,
  sourceDateEpoch: number,
  opts: Pick<RunOptions, 'logger' | 'stage'> = {},
): Promise<void> {
  await run(
    'tar',
    [
      '--create',
      '--file',
      file,
      '--format=ustar',
      '--no-recursion',
      '--numeric-owner',
      '--owner=0',
      '--group=0',
      '--mode=u=rw,go=r',
      `--mtime=@${sourceDateEpoch}`,
      '--directory',
      dir,
      '--',
      ...names,
    ],
    opts,
  );
}
