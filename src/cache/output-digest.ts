import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../fs/hash.js';
import type { Manifest, TreeRecord } from './cache-integrity.js';
import type { StageMeta } from '../stage/types.js';

/**
 * Early cutoff. A stage whose inputs changed may still leave the very output an earlier entry
 * holds (adding a package to packages.base leaves a small bootstrap's minimised root as it
 * was). Its children are then keyed on that earlier entry's key, the first key that made this
 * output, so their cached entries are used. Two small files per stage, beside the entries:
 *
 *   outputs/<stage>/by-output/<digest>: the first key whose entry had this output;
 *   outputs/<stage>/same-as/<key>: that first key, for a key whose output it is and is not.
 */

/**
 * Meta members and artifacts that report how a stage got to its output (the entry it grew from,
 * the root's size before minimising, the files the repo's hooks wrote and removed in the full
 * root) and that no later stage reads. They differ between a grown and a cold build of the
 * same output, so the digest leaves them out; a reused later entry keeps the report of the
 * build that made it (docs/cache.md says so). The output's manifest reads the hooks' record
 * from the entry it reads the packages from, which has the full root's record.
 */
export const REPORT_META: readonly string[] = ['grownFrom', 'minimise', 'hookFiles'];
// minimise-traces.json: the traces minimise recorded and may reuse (src/minimise/trace-memo.ts).
export const REPORT_ARTIFACTS: readonly string[] = ['minimise-manifest.json', 'minimise-traces.json'];

/**
 * The digest of what a committed entry hands to later stages: its trees as its manifest records
 * them (paths, types, modes, owners, sizes, mtimes, contents) and its meta, reports left out. A
 * tree shared with the parent (a read-only stage's link) counts as the parent's canonical key,
 * which names the parent's output, so the link's target (a folder named by key) does not count.
 */
export function outputDigest(manifest: Manifest, meta: StageMeta, parentKey: string | null): string {
  const kept = Object.fromEntries(Object.entries(meta).filter(([k]) => !REPORT_META.includes(k)));
  const tree = (name: string, record: TreeRecord) =>
    'link' in record
      ? { parent: parentKey }
      : name === 'artifacts'
        ? record.entries.filter((e) => !REPORT_ARTIFACTS.includes(e[0]))
        : record.entries;
  const trees = Object.fromEntries(Object.entries(manifest.trees).map(([n, r]) => [n, tree(n, r)]));
  return sha256()
    .update(JSON.stringify({ stage: manifest.stage, meta: sortedKeys(kept), trees }))
    .digest('hex');
}

/** A plain object with its members in name order, so the digest does not depend on insertion order. */
function sortedKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `cacheRoot` is the cache's root folder (CacheLayout.root). */
function outputsDir(cacheRoot: string, stage: string): string {
  return join(cacheRoot, 'outputs', stage);
}

/**
 * Records the output of a freshly committed entry; returns its canonical key: the first key
 * whose entry had this output (`key` itself when none had). The first writer of a digest wins
 * (exclusive create), so two builds that commit the same output at once agree on one key.
 */
export async function recordOutput(
  cacheRoot: string,
  stage: string,
  key: string,
  digest: string,
): Promise<string> {
  const dir = outputsDir(cacheRoot, stage);
  await mkdir(join(dir, 'by-output'), { recursive: true });
  await mkdir(join(dir, 'same-as'), { recursive: true });
  const byOutput = join(dir, 'by-output', digest);
  let first = key;
  try {
    await writeFile(byOutput, `${key}\n`, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    first = (await readFile(byOutput, 'utf8')).trim() || key;
  }
  const sameAs = join(dir, 'same-as', key);
  // A key rebuilt with another output (an entry removed, then rebuilt) no longer names the old one.
  if (first === key) await rm(sameAs, { force: true });
  else await writeFile(sameAs, `${first}\n`, { mode: 0o644 });
  return first;
}

/** The key later stages are keyed on for this stage's `key`: the first key that made the same output. */
export async function canonicalKey(cacheRoot: string, stage: string, key: string): Promise<string> {
  try {
    const first = (await readFile(join(outputsDir(cacheRoot, stage), 'same-as', key), 'utf8')).trim();
    return /^[0-9a-f]{24}$/.test(first) ? first : key;
  } catch {
    return key;
  }
}
