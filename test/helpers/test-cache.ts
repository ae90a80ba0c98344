import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { exists } from '../../src/fs/exists.js';

/** Where the test suite keeps slow-to-make inputs between files and runs ($ISOBUILD_TEST_CACHE). */
export function testCacheRoot(): string {
  return process.env.ISOBUILD_TEST_CACHE ?? join(tmpdir(), 'isobuild-test-cache');
}

/**
 * An isobuild stage cache (ISOBUILD_CACHE) the test files that build a shipped repo share across
 * files and runs, so only the first of them builds it cold. isobuild's own per-repo build lock
 * keeps two jest workers building at once apart.
 */
export function sharedStageCache(): string {
  return join(testCacheRoot(), 'stage-cache');
}

/**
 * `path` (a file or folder under the test cache), made by `make` when it is missing. `make`
 * writes a private path beside it that is renamed into place when complete, so test files
 * running at once in two jest workers never see half of it: both may make it, the first rename
 * wins and the other's copy is dropped.
 */
export async function makeOnce(path: string, make: (partial: string) => Promise<void>): Promise<string> {
  if (await exists(path)) return path;
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await make(partial);
    await rename(partial, path).catch(async (err: NodeJS.ErrnoException) => {
      // A folder another worker put there first (a file is replaced, with the same content).
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return path;
}

const APT_ARCHIVES = '/var/cache/apt/archives';

/** `<pkg>_<version>_amd64.deb`. */
export function debPattern(pkg: string): RegExp {
  return new RegExp(`^${pkg.replace(/[.+]/g, '\\$&')}_[^_]+_amd64\\.deb$`);
}

async function newestMatch(dir: string, pattern: RegExp): Promise<string | undefined> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => pattern.test(n)).sort();
  return names.length ? join(dir, names[names.length - 1]!) : undefined;
}

/**
 * A Debian package's .deb in the test cache's `debs/` folder: the newest one there, else apt's
 * own archive cache's, else `apt-get download` from the host's archive (into a private folder,
 * then renamed in). `pattern` picks the file when the package name is not in it (a meta package).
 */
export async function debianDeb(pkg: string, pattern = debPattern(pkg)): Promise<string> {
  const debs = join(testCacheRoot(), 'debs');
  await mkdir(debs, { recursive: true });
  const cached = await newestMatch(debs, pattern);
  if (cached) return cached;
  const archived = await newestMatch(APT_ARCHIVES, pattern);
  const name = archived
    ? archived.slice(APT_ARCHIVES.length + 1)
    : await downloadName(pkg, pattern, debs).catch((err: unknown) => {
        throw new Error(`apt-get download ${pkg}: ${(err as Error).message}`);
      });
  if (archived) await makeOnce(join(debs, name), (partial) => copyFile(archived, partial));
  return join(debs, name);
}

/** Downloads `pkg` into a private folder under `debs`, moves the matching .deb in; its file name. */
async function downloadName(pkg: string, pattern: RegExp, debs: string): Promise<string> {
  const work = join(debs, `.download-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(work);
  try {
    await run('apt-get', ['download', pkg], { cwd: work, stage: 'test cache' });
    const got = await newestMatch(work, pattern);
    if (!got) throw new Error(`left no .deb matching ${pattern.source}`);
    const name = got.slice(work.length + 1);
    await rename(got, join(debs, name));
    return name;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
