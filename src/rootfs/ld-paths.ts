import { readFile, readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { globToRegExp } from './glob.js';
import { hostPath, walkInRoot } from './root-path.js';

/**
 * The root's library search directories, as its dynamic loader would build them from
 * /etc/ld.so.conf (with `include` lines), followed by the built-in trusted directories.
 */
const TRUSTED_64 = ['/lib64', '/usr/lib64', '/lib', '/usr/lib'];
const TRUSTED_32 = ['/lib32', '/usr/lib32', '/lib', '/usr/lib'];

async function readInRoot(root: string, path: string): Promise<string | undefined> {
  const r = await walkInRoot(root, path);
  if (!r.stat?.isFile()) return undefined;
  return readFile(hostPath(root, r.path), 'utf8').catch(() => undefined);
}

async function expandInclude(root: string, pattern: string): Promise<string[]> {
  const dir = posix.dirname(pattern);
  const r = await walkInRoot(root, dir);
  if (!r.stat?.isDirectory()) return [];
  const re = globToRegExp(pattern.replace(dir, r.path));
  const names = await readdir(hostPath(root, r.path)).catch(() => [] as string[]);
  return names
    .map((n) => posix.join(r.path, n))
    .filter((p) => re.test(p))
    .sort();
}

async function readConf(root: string, file: string, seen: Set<string>, out: string[]): Promise<void> {
  if (seen.has(file)) return;
  seen.add(file);
  const text = await readInRoot(root, file);
  if (text === undefined) return;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const inc = /^include\s+(.+)$/.exec(line);
    if (inc) {
      for (const pat of (inc[1] as string).split(/\s+/)) {
        const abs = pat.startsWith('/') ? pat : posix.join(posix.dirname(file), pat);
        for (const f of await expandInclude(root, abs)) await readConf(root, f, seen, out);
      }
      continue;
    }
    if (line.startsWith('hwcap')) continue;
    for (const d of line.split(/[:\s,]+/)) if (d.startsWith('/')) out.push(d);
  }
}

/** Library directories in the loader's order (ld.so.conf, then trusted), without duplicates. */
export async function readLibraryDirs(root: string, bits: 32 | 64 = 64): Promise<string[]> {
  const dirs: string[] = [];
  await readConf(root, '/etc/ld.so.conf', new Set(), dirs);
  return [...new Set([...dirs, ...(bits === 64 ? TRUSTED_64 : TRUSTED_32)])];
}
