import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { KnownKernel } from '../drivers/check.js';
import { readModuleIndex } from '../drivers/module-index.js';
import { showPath } from '../spec/document.js';
import type { KernelSource } from '../spec/types.js';
import { entryKeyOf, openEntry, type CacheEntry, type CacheLayout } from '../cache/cache.js';
import { readManifest } from '../cache/cache-integrity.js';

/** Whether an iso-base entry installed the kernel the spec names (entries from before inputs were recorded may). */
async function installedKernel(entry: CacheEntry, kernel: KernelSource): Promise<boolean> {
  const values = (await readManifest(entry.dir))?.inputs?.values as { kernel?: KernelSource } | undefined;
  const had = values?.kernel;
  if (!had) return true;
  if (had.kind === 'package' && kernel.kind === 'package') return had.name === kernel.name;
  // The record holds a kernel file's path relative to the repo folder: its name is what compares.
  if (had.kind === 'file' && kernel.kind === 'file') return basename(had.path) === basename(kernel.path);
  return false;
}

/** The kernel version iso-base recorded, else the root's only /lib/modules/<version>. */
async function kernelVersionOf(entry: CacheEntry): Promise<string | undefined> {
  if (entry.meta.kernelVersion) return entry.meta.kernelVersion;
  const versions = await readdir(join(entry.rootfs, 'lib', 'modules')).catch(() => []);
  return versions.length === 1 ? versions[0] : undefined;
}

/**
 * The module index of the kernel the repo's most recently used iso-base entry installed, when the
 * cache holds one for the spec's kernel: a list of the kernel's modules known without building.
 * Only iso-base: later stages may have pruned modules (`modules: drivers`). Undefined when no entry
 * has a readable modules.dep.
 */
export async function findCachedKernel(
  layout: CacheLayout,
  repo: string,
  kernel: KernelSource,
): Promise<KnownKernel | undefined> {
  const dir = layout.stages(repo);
  const names = await readdir(dir).catch(() => [] as string[]);
  const entries = await Promise.all(
    names
      .map((name) => ({ name, key: entryKeyOf(name, 'iso-base') }))
      .filter((e): e is { name: string; key: string } => e.key !== undefined)
      .map(async (e) => {
        const path = join(dir, e.name);
        return { path, key: e.key, used: (await stat(path).catch(() => undefined))?.mtimeMs ?? 0 };
      }),
  );
  entries.sort((a, b) => b.used - a.used || a.key.localeCompare(b.key));
  for (const e of entries) {
    const entry = await openEntry(e.path, e.key);
    if (!entry || !(await installedKernel(entry, kernel))) continue;
    const version = await kernelVersionOf(entry);
    if (!version) continue;
    const index = await readModuleIndex(entry.rootfs, version).catch(() => undefined);
    if (index) return { index, from: `modules.dep of the cached iso-base ${showPath(entry.dir)}` };
  }
  return undefined;
}
