import { link, lstat, readFile, readdir, readlink, rename, rm } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { sha256File } from './hash.js';

async function walkFiles(dir: string, skip: string, out: Map<string, Stats>): Promise<void> {
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    if (path === skip) continue;
    const st = await lstat(path);
    if (st.isDirectory()) await walkFiles(path, skip, out);
    else if (st.isFile()) out.set(path, st);
  }
}

/**
 * Replaces each regular file of `tree` by a hard link to a file of `root` (outside `tree`) with
 * the same bytes, mode and owner: a copy made inside a root then costs an archive of the root
 * (newc cpio stores a hard-link group's data once) nothing. Returns how many files were linked.
 */
export async function linkDuplicates(tree: string, root: string): Promise<number> {
  const wanted = new Map<string, Stats>();
  await walkFiles(resolve(tree), '', wanted);
  const sizes = new Set([...wanted.values()].filter((st) => st.size > 0).map((st) => st.size));
  const candidates = new Map<number, string[]>();
  const others = new Map<string, Stats>();
  await walkFiles(resolve(root), resolve(tree), others);
  for (const [path, st] of others)
    if (sizes.has(st.size)) candidates.set(st.size, [...(candidates.get(st.size) ?? []), path]);
  const digests = new Map<string, string>();
  const digest = async (path: string) => {
    let d = digests.get(path);
    if (!d) digests.set(path, (d = await sha256File(path)));
    return d;
  };
  let linked = 0;
  for (const [path, st] of wanted) {
    for (const other of candidates.get(st.size) ?? []) {
      const o = others.get(other)!;
      if (o.mode !== st.mode || o.uid !== st.uid || o.gid !== st.gid) continue;
      if ((await digest(other)) !== (await digest(path))) continue;
      // Linked beside and renamed over: the file is never missing.
      const tmp = `${path}.isobuild-link`;
      await rm(tmp, { force: true });
      await link(other, tmp);
      await rename(tmp, path);
      linked++;
      break;
    }
  }
  return linked;
}

/** Whether any file or link target under `tree` mentions `text` (a path that will not exist). */
export async function treeMentions(tree: string, text: string): Promise<string | undefined> {
  const needle = Buffer.from(text);
  const visit = async (dir: string): Promise<string | undefined> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const st = await lstat(path);
      const hit = st.isDirectory()
        ? await visit(path)
        : st.isSymbolicLink()
          ? (await readlink(path)).includes(text)
            ? path
            : undefined
          : st.isFile() && (await readFile(path)).includes(needle)
            ? path
            : undefined;
      if (hit) return relative(tree, hit);
    }
    return undefined;
  };
  return visit(tree);
}
