import { readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ModuleIndex } from './module-index.js';

const MODULE_FILE = /\.ko(\.(xz|zst|gz))?$/;

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

/**
 * The module files under `dir` (/lib/modules/<version>) that are not in `keep`, relative to
 * `dir`: what pruneModules deletes, and what the drivers stage has the pipeline leave out of
 * its copy of the parent's root (read only here).
 */
export async function modulesToPrune(
  dir: string,
  index: ModuleIndex,
  keep: ReadonlySet<string>,
): Promise<string[]> {
  const keepFiles = new Set(
    [...keep].map((m) => index.files.get(m)).filter((f): f is string => f !== undefined),
  );
  const unwanted: string[] = [];
  for await (const path of walk(dir)) {
    const rel = relative(dir, path);
    if (MODULE_FILE.test(rel) && !keepFiles.has(rel)) unwanted.push(rel);
  }
  return unwanted;
}

/**
 * Deletes every module file under `dir` that is not in `keep` (modulesToPrune), then the
 * folders left empty, so the payload is the drivers' closure only. Returns the relative paths
 * removed. depmod must run afterwards so modules.dep stops naming the deleted files.
 */
export async function pruneModules(
  dir: string,
  index: ModuleIndex,
  keep: ReadonlySet<string>,
): Promise<string[]> {
  const removed = await modulesToPrune(dir, index, keep);
  for (const rel of removed) await rm(join(dir, rel));
  await removeEmptyDirs(dir);
  return removed;
}

async function removeEmptyDirs(dir: string): Promise<boolean> {
  let empty = true;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && (await removeEmptyDirs(join(dir, entry.name))))
      await rm(join(dir, entry.name), { recursive: true });
    else empty = false;
  }
  return empty;
}
