import { readFile, rm } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
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

/** Hard-link every file of a tree into a new place (artifacts are never modified after they are written). */
export async function linkTree(from: string, to: string): Promise<void> {
  await run('cp', ['-al', '--no-target-directory', from, to]);
}
