import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readManifest, writeManifest } from './cache-integrity.js';
import { outputDigest, recordOutput } from './output-digest.js';
import { endRecordedGroups } from '../exec/process-group.js';
import type { Logger } from '../log/logger.js';
import { isAlive } from './lock.js';
import { removeTree } from '../fs/fs-tree.js';
import type { StageInputsRecord } from './cache-integrity.js';
import type { StageMeta } from '../stage/types.js';
import { DEFAULT_ARCH, type Arch } from '../spec/arch.js';

/**
 * The stage cache. Each stage's result lives in `stages/<repo>/<stage>-<key>/` with its
 * rootfs, bootfs, artifacts and meta.json. Results are built in `tmp/` and renamed into place
 * only when complete, so an entry that exists is an entry that can be trusted. A key names the
 * same result whichever repo made it, so any repo's entry of that key is used (lookupEntry).
 */
export interface CacheEntry {
  dir: string;
  key: string;
  /** The repo whose build made it (the folder it lives in): another repo's when shared. */
  repo: string;
  rootfs: string;
  bootfs: string;
  artifacts: string;
  meta: StageMeta;
  /**
   * Set by commitEntry: the first key whose entry had this output (this key when none had),
   * on which later stages are keyed (early cutoff, src/cache/output-digest.ts).
   */
  firstKeyOfOutput?: string;
}

export interface CacheLayout {
  root: string;
  stages(repo: string): string;
  /** Every stage folder: `stages/`, one subfolder per repo. */
  allStages: string;
  /** The package cache every repo shares (docs/cache.md says how it stays safe). */
  packages: string;
  /**
   * The package cache of one architecture: amd64's is `packages` itself; another's a folder in
   * it, since apt's update drops the lists of every architecture it was not told about.
   */
  packagesFor(arch: Arch): string;
  /** Where each repo had its own package cache before it was shared: read by nothing, removed by clean. */
  oldPackages: string;
  logs(repo: string): string;
  /** Kept kernel source and object trees, one per source and toolchain, and ccache (src/stages/kernel.ts). */
  kernelTrees: string;
  locks: string;
  tmp: string;
}

export function cacheLayout(root: string): CacheLayout {
  return {
    root,
    stages: (repo) => join(root, 'stages', repo),
    allStages: join(root, 'stages'),
    packages: join(root, 'package-cache'),
    packagesFor: (arch) =>
      arch === DEFAULT_ARCH ? join(root, 'package-cache') : join(root, 'package-cache', arch),
    oldPackages: join(root, 'packages'),
    logs: (repo) => join(root, 'logs', repo),
    kernelTrees: join(root, 'kernel-trees'),
    locks: join(root, 'locks'),
    tmp: join(root, 'tmp'),
  };
}

/** The key of a `<stage>-<key>` entry folder of this stage, or undefined: "iso-" never matches iso-base's. */
export function entryKeyOf(name: string, stage: string): string | undefined {
  if (!name.startsWith(`${stage}-`)) return undefined;
  const key = name.slice(stage.length + 1);
  return /^[0-9a-f]{24}$/.test(key) ? key : undefined;
}

export function entryDir(layout: CacheLayout, repo: string, stage: string, key: string): string {
  return join(layout.stages(repo), `${stage}-${key}`);
}

/** The artifact folders of the repo's entries of a stage, newest first, at most `limit` (StageContext.earlier). */
export async function earlierArtifacts(
  layout: CacheLayout,
  repo: string,
  stage: string,
  limit: number,
): Promise<string[]> {
  const dir = layout.stages(repo);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => entryKeyOf(n, stage));
  const dated = await Promise.all(
    names.map(async (n) => ({ n, at: (await stat(join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  return dated
    .sort((a, b) => b.at - a.at || (a.n < b.n ? -1 : 1))
    .slice(0, limit)
    .map(({ n }) => join(dir, n, 'artifacts'));
}

export async function openEntry(dir: string, key: string): Promise<CacheEntry | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as StageMeta;
    // rootfs may be a link to the parent's; a dangling one means the entry is unusable.
    const rootfs = await realpath(join(dir, 'rootfs'));
    const bootfs = await realpath(join(dir, 'bootfs'));
    await stat(rootfs);
    const repo = basename(dirname(dir));
    return { dir, key, repo, rootfs, bootfs, artifacts: join(dir, 'artifacts'), meta };
  } catch {
    return undefined;
  }
}

/**
 * The entry of this stage and key: the repo's own, else any other repo's (the key holds every
 * input, and input files are labelled relative to the repo folder, so a near-copy of a repo
 * gets the same keys and shares the entries).
 */
export async function lookupEntry(
  layout: CacheLayout,
  repo: string,
  stage: string,
  key: string,
): Promise<CacheEntry | undefined> {
  for (const owner of await entryOwners(layout, repo)) {
    const entry = await openEntry(entryDir(layout, owner, stage, key), key);
    if (entry) return entry;
  }
  return undefined;
}

/** The repos whose folders are searched for an entry: `repo` first, then the others by name. */
async function entryOwners(layout: CacheLayout, repo: string): Promise<string[]> {
  const others = (await readdir(layout.allStages).catch(() => [] as string[])).filter((r) => r !== repo);
  return [repo, ...others.sort()];
}

/** The repo whose build made the entry, when it is not `repo`'s own (entries are shared by key). */
export function otherMaker(entry: CacheEntry, repo: string): string | undefined {
  return entry.repo === repo ? undefined : entry.repo;
}

/** " (made by repo X)" after "cached", as the build and plan --explain say it; '' for the repo's own. */
export function madeByNote(maker: string | undefined): string {
  return maker === undefined ? '' : ` (made by repo ${maker})`;
}

/** The entry folder's mtime is its last use: `cache gc` removes the least recently used first. */
export async function markUsed(entry: CacheEntry): Promise<void> {
  const now = new Date();
  await utimes(entry.dir, now, now).catch(() => undefined);
}

/** A work folder for one stage run, on the cache's file system so that commit is a rename. */
export async function makeWorkDir(layout: CacheLayout, repo: string, stage: string): Promise<string> {
  await mkdir(layout.tmp, { recursive: true });
  const dir = join(layout.tmp, `${repo}-${stage}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { mode: 0o755 });
  return dir;
}

export async function commitEntry(
  layout: CacheLayout,
  repo: string,
  stage: string,
  key: string,
  work: string,
  meta: StageMeta,
  /** The entry the work's trees were copied from (its parent, or the entry it grew from): its file digests are reused. */
  copiedFrom?: { dir: string },
  inputs?: StageInputsRecord,
): Promise<CacheEntry> {
  await writeFile(join(work, 'meta.json'), JSON.stringify(meta, null, 2) + '\n', { mode: 0o644 });
  const manifest = await writeManifest(
    work,
    stage,
    key,
    copiedFrom ? await readManifest(copiedFrom.dir) : undefined,
    inputs,
  );
  const dest = entryDir(layout, repo, stage, key);
  await mkdir(layout.stages(repo), { recursive: true });
  // A rebuild (--no-cache) replaces the old entry; stale children keyed on it stay valid
  // because their key names the same parent key and the rebuilt result is equivalent.
  await removeTree(dest);
  await rename(work, dest);
  const entry = await openEntry(dest, key);
  if (!entry) throw new Error(`cache entry ${dest} is unreadable right after writing it`);
  await markUsed(entry);
  // Without its inputs a shared tree's parent is unknown: such an entry is no one's first.
  if (!inputs) return entry;
  const digest = outputDigest(manifest, meta, inputs.parentKey);
  return { ...entry, firstKeyOfOutput: await recordOutput(layout.root, stage, key, digest) };
}

/**
 * Work folders left by builds that were killed (their pid is gone). What such a build left
 * running (its recorded process groups: an orphaned mmdebstrap, a qemu) is ended first.
 */
export async function removeStaleWork(layout: CacheLayout, logger?: Logger): Promise<void> {
  let names: string[];
  try {
    names = await readdir(layout.tmp);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1]);
    if (!pid || isAlive(pid)) continue;
    const dir = join(layout.tmp, name);
    const ended = await endRecordedGroups(join(dir, 'groups'));
    if (ended.length)
      logger?.warn(`ended ${ended.length} process group(s) left running by a killed build (pid ${pid})`);
    await removeTree(dir);
  }
}
