import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, posix, resolve, sep } from 'node:path';
import { run } from '../exec/run.js';
import { refreshLinkCounts } from './refresh-link-counts.js';

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const root = resolve(dir);
  let info: string;
  try {
    info = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => Boolean(p))
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === root || p.startsWith(root + sep));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * rm -rf that first detaches anything still mounted inside the tree: a build root with a
 * leftover bind mount of /dev or /proc must never be deleted through the mount.
 */
export async function removeTree(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await run('umount', ['--lazy', point], { allowFailure: true });
  }
  const left = await mountsUnder(dir);
  if (left.length) throw new Error(`refusing to delete ${dir}: still mounted: ${left.join(', ')}`);
  await rm(dir, { recursive: true, force: true });
}

/** Copy a tree keeping owners, modes, links, device nodes and times (cp -a; reflinks where the disk has them). */
export async function copyTree(from: string, to: string): Promise<void> {
  await refreshLinkCounts(from);
  await run('cp', ['-a', '--reflink=auto', '--no-target-directory', from, to]);
}

/**
 * copyTree, leaving out `leaveOut` (paths relative to `from`): for a stage that would delete
 * them first thing, copying them is wasted (drivers prunes ~1,000 module files of a 160 MB root).
 * The folders on the way to a left-out path are listed; everything else in them is copied
 * whole by one cp call, so hard links between copied files stay links. The listed folders then
 * get their source's owner, mode, times and xattrs from a tar of them alone (cp --parents does
 * not copy a folder's xattrs, and copying into a folder changes its mtime); one whose every
 * entry is left out is made empty. Returns the paths left out: those whose folders on the way
 * are real folders (a path under a symlink is copied).
 */
export async function copyTreeExcept(
  from: string,
  to: string,
  leaveOut: readonly string[],
): Promise<string[]> {
  const listed = new Set<string>(['.']);
  const skipped: string[] = [];
  for (const path of new Set(leaveOut.map((p) => posix.normalize(p).replace(/^\/+|\/+$/g, '')))) {
    if (path === '.' || path === '..' || path.startsWith('../')) continue;
    const parents: string[] = [];
    for (let d = posix.dirname(path); d !== '.'; d = posix.dirname(d)) parents.push(d);
    const real = await Promise.all(
      parents.map((d) =>
        lstat(join(from, d)).then(
          (st) => st.isDirectory(),
          () => false,
        ),
      ),
    );
    if (real.includes(false)) continue;
    for (const d of parents) listed.add(d);
    skipped.push(path);
  }
  if (!skipped.length) {
    await copyTree(from, to);
    return [];
  }
  const left = new Set(skipped);
  const folders = [...listed].sort();
  const sources: string[] = [];
  for (const dir of folders)
    for (const name of (await readdir(join(from, dir))).sort()) {
      const path = posix.join(dir, name);
      if (!left.has(path) && !listed.has(path)) sources.push(path);
    }
  await refreshLinkCounts(from);
  await mkdir(to);
  if (sources.length)
    await run('cp', ['-a', '--reflink=auto', '--parents', '-t', resolve(to), '--', ...sources], {
      cwd: from,
    });
  // Sorted, parents first; tar sets a folder's times only once it has made the folders in it.
  const meta = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'];
  const folderTar = await run(
    'tar',
    ['--create', '--file', '-', '--format=posix', '--no-recursion', ...meta, '--', ...folders],
    { cwd: from, binaryStdout: true },
  );
  await run('tar', ['--extract', '--file', '-', '--same-permissions', '--same-owner', ...meta], {
    cwd: to,
    input: folderTar.stdoutBuffer,
  });
  return skipped;
}

/** Hard-link every file of a tree into a new place (artifacts are never modified after they are written). */
export async function linkTree(from: string, to: string): Promise<void> {
  await run('cp', ['-al', '--no-target-directory', from, to]);
}
