import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { lstat, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sha256File } from '../fs/hash.js';

/**
 * What one stage's key was computed from, with every file as its own digest: recorded in the
 * stage's cache entry (its manifest, below) and in output manifests, so `plan --explain`
 * and `isobuild diff` can name the value or file that changed.
 */
export interface StageInputsRecord {
  /** The isobuild release that computed it. */
  readonly isobuild: string;
  /** The stage's `version`. */
  readonly version: number;
  readonly parentKey: string | null;
  readonly sourceDateEpoch: number;
  /** The stage's values (spec fields and options it reads). */
  readonly values: unknown;
  /** Input files by label (relative to the repo folder, else the file's name) → sha256 of hashPath. */
  readonly files: Readonly<Record<string, string>>;
  readonly toolVersions: readonly string[];
}

/**
 * Per-entry manifests: what a cache entry held when it was committed, so that a damaged entry
 * (a truncated file, a file removed or added by hand, a disk error) is noticed before it is
 * reused, and so that an entry pulled from a remote cache can be checked against what its
 * builder committed. The format is documented in docs/cache.md ("Entry manifest").
 *
 * manifest.json, beside meta.json in the entry folder:
 *   { "format": "isobuild-cache-manifest/1", "stage", "key",
 *     "meta": sha256 of meta.json,
 *     "trees": { "rootfs" | "bootfs" | "artifacts": TreeRecord },
 *     "inputs": what the key was computed from (StageInputsRecord; absent in older entries) }
 * TreeRecord is { "link": target } when the entry shares its parent's tree (read-only stages),
 * else { "entries": [[path, type, mode, uid, gid, size, mtimeNs, sha256-or-link-target], ...] }
 * sorted by path; type is one of f (file), d (folder), l (symlink), c/b (devices), p (fifo), s.
 */
export const MANIFEST_FORMAT = 'isobuild-cache-manifest/1';
export const MANIFEST_FILE = 'manifest.json';
export const TREES = ['rootfs', 'bootfs', 'artifacts'] as const;
export type TreeName = (typeof TREES)[number];

/** [path, type, mode, uid, gid, size, mtimeNs, digest | link target | ''] */
export type ManifestEntry = [string, string, number, number, number, number, string, string];
export type TreeRecord = { link: string } | { entries: ManifestEntry[] };

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  stage: string;
  key: string;
  meta: string;
  trees: Record<TreeName, TreeRecord>;
  /** What the key was computed from, for `plan --explain`; entries from before it was recorded lack it. */
  inputs?: StageInputsRecord;
}

/** How hard a check looks: sizes and mtimes for trees, digests for artifacts; or every digest. */
export type CheckDepth = 'quick' | 'full';

function typeOf(st: BigIntStats): string {
  if (st.isFile()) return 'f';
  if (st.isDirectory()) return 'd';
  if (st.isSymbolicLink()) return 'l';
  if (st.isCharacterDevice()) return 'c';
  if (st.isBlockDevice()) return 'b';
  if (st.isFIFO()) return 'p';
  return 's';
}

/**
 * Walk a tree (not following links) and describe every entry. `digests` says whose contents are
 * read; `reuse` gives digests already known for an unchanged path (an artifact hard-linked from
 * the parent entry), so committing does not reread them. The walk itself is synchronous: an
 * awaited lstat per file costs a thread-pool round trip, and a no-op build walks a root of
 * hundreds of files five times faster without.
 */
async function describeTree(
  root: string,
  digests: boolean,
  reuse?: Map<string, ManifestEntry>,
): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = readdirSync(rel ? join(root, rel) : root).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(root, path);
      const st = lstatSync(full, { bigint: true });
      const type = typeOf(st);
      const mtime = type === 'l' || type === 'd' ? '' : String(st.mtimeNs);
      const size = type === 'f' ? Number(st.size) : 0;
      let extra = '';
      if (type === 'l') extra = readlinkSync(full);
      else if (type === 'f' && digests) {
        const known = reuse?.get(path);
        extra = known && known[5] === size && known[6] === mtime ? known[7] : await sha256File(full);
      }
      out.push([path, type, Number(st.mode & 0o7777n), Number(st.uid), Number(st.gid), size, mtime, extra]);
      if (type === 'd') await visit(path);
    }
  };
  await visit('');
  return out;
}

/** Write the manifest of a finished work folder, just before it is renamed into the cache. */
export async function writeManifest(
  work: string,
  stage: string,
  key: string,
  parentManifest?: Manifest,
  inputs?: StageInputsRecord,
): Promise<Manifest> {
  const trees = {} as Record<TreeName, TreeRecord>;
  for (const tree of TREES) {
    const path = join(work, tree);
    const st = await lstat(path);
    if (st.isSymbolicLink()) {
      trees[tree] = { link: await readlink(path) };
      continue;
    }
    const parent = parentManifest?.trees[tree];
    const reuse = parent && 'entries' in parent ? new Map(parent.entries.map((e) => [e[0], e])) : undefined;
    trees[tree] = { entries: await describeTree(path, true, reuse) };
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    stage,
    key,
    meta: await sha256File(join(work, 'meta.json')),
    trees,
    ...(inputs ? { inputs } : {}),
  };
  await writeFile(join(work, MANIFEST_FILE), JSON.stringify(manifest) + '\n', { mode: 0o644 });
  return manifest;
}

export async function readManifest(entryDir: string): Promise<Manifest | undefined> {
  try {
    const m = JSON.parse(await readFile(join(entryDir, MANIFEST_FILE), 'utf8')) as Manifest;
    return m.format === MANIFEST_FORMAT ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What an entry's manifest records for one of its trees, by path in the tree (`usr/bin/bash`),
 * given the tree's folder (`<entry>/rootfs`, as CacheEntry.rootfs has it); empty for a folder
 * that is not a cache entry's tree. A digest is as good as the cache hit that trusted the entry:
 * use it for a file whose size and mtime still match (what the quick check compares).
 */
export async function recordedEntries(treeDir: string): Promise<Map<string, ManifestEntry>> {
  const tree = basename(treeDir) as TreeName;
  if (!TREES.includes(tree)) return new Map();
  const record = (await readManifest(dirname(treeDir)))?.trees[tree];
  return new Map(record && 'entries' in record ? record.entries.map((e) => [e[0], e]) : []);
}

/** The recorded digest of the file at `path` (in the tree) when `st` (its lstat) still matches the record. */
export function recordedDigest(
  recorded: ReadonlyMap<string, ManifestEntry>,
  path: string,
  st: { size: bigint; mtimeNs: bigint; isFile(): boolean },
): string | undefined {
  const e = recorded.get(path);
  const matches = e?.[1] === 'f' && st.isFile() && e[5] === Number(st.size) && e[6] === String(st.mtimeNs);
  return matches ? e[7] || undefined : undefined;
}

/**
 * What is wrong with an entry, compared with its manifest: [] when it matches. A quick check
 * compares types, modes, owners, sizes and mtimes of the trees and the digests of artifacts
 * (what is shipped); a full check also rereads every file of the trees.
 */
export async function checkEntry(entryDir: string, depth: CheckDepth = 'quick'): Promise<string[]> {
  const manifest = await readManifest(entryDir);
  if (!manifest) return [`no ${MANIFEST_FILE} (written by an older isobuild, or damaged)`];
  const problems: string[] = [];
  try {
    if ((await sha256File(join(entryDir, 'meta.json'))) !== manifest.meta)
      problems.push('meta.json: changed');
  } catch {
    problems.push('meta.json: missing');
  }
  for (const tree of TREES) {
    const record = manifest.trees[tree];
    const path = join(entryDir, tree);
    if ('link' in record) {
      const target = await readlink(path).catch(() => undefined);
      if (target !== record.link) problems.push(`${tree}: should link to ${record.link}`);
      else if (!(await stat(path).catch(() => undefined)))
        problems.push(`${tree}: the entry it shares (${record.link}) is gone`);
      continue;
    }
    const digests = depth === 'full' || tree === 'artifacts';
    let actual: ManifestEntry[];
    try {
      actual = await describeTree(path, digests);
    } catch (err) {
      problems.push(`${tree}: unreadable (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      continue;
    }
    problems.push(...compareTrees(tree, record.entries, actual, digests));
    if (problems.length > 20) break;
  }
  return problems;
}

function compareTrees(
  tree: string,
  expected: readonly ManifestEntry[],
  actual: readonly ManifestEntry[],
  digests: boolean,
): string[] {
  const problems: string[] = [];
  const have = new Map(actual.map((e) => [e[0], e]));
  for (const want of expected) {
    const got = have.get(want[0]);
    have.delete(want[0]);
    const where = `${tree}/${want[0]}`;
    if (!got) {
      problems.push(`${where}: missing`);
      continue;
    }
    if (got[1] !== want[1]) problems.push(`${where}: type ${got[1]}, was ${want[1]}`);
    else if (got[2] !== want[2] || got[3] !== want[3] || got[4] !== want[4])
      problems.push(`${where}: mode or owner changed`);
    else if (got[5] !== want[5]) problems.push(`${where}: ${got[5]} bytes, was ${want[5]}`);
    else if (got[6] !== want[6]) problems.push(`${where}: modified since it was cached`);
    else if (want[1] === 'l' && got[7] !== want[7]) problems.push(`${where}: link target changed`);
    else if (want[1] === 'f' && digests && got[7] !== want[7]) problems.push(`${where}: contents changed`);
  }
  for (const extra of have.keys()) problems.push(`${tree}/${extra}: not in the manifest`);
  return problems;
}
