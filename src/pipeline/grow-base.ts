import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkEntry, readManifest, type StageInputsRecord } from '../cache/cache-integrity.js';
import { entryKeyOf, openEntry, type CacheLayout } from '../cache/cache.js';
import type { GrowBase, Stage } from '../stage/types.js';
import { shortKey } from '../stage/growth.js';

/**
 * What findGrowBase found: an entry to grow from, or why none of the stage's entries will do
 * (the newest one's reason); undefined when the stage does not grow or the cache has no entry of it.
 */
export type GrowChoice = { base: GrowBase } | { refused: string } | undefined;

/**
 * For a stage that declares growsBy (iso-base) and whose key missed: the cached entry of the
 * stage, in any repo's folder, newest first, whose inputs differ from `now` only by what
 * growsBy accepts. Everything else must be equal: files (sources lists, keys, base.sh), tool
 * versions, the stage's and isobuild's versions, SOURCE_DATE_EPOCH. The entry must also
 * still match its manifest (a quick check), as a cache hit must.
 */
export async function findGrowBase(
  layout: CacheLayout,
  stage: Stage,
  key: string,
  now: StageInputsRecord,
): Promise<GrowChoice> {
  if (!stage.growsBy) return undefined;
  const candidates = await entriesOf(layout, stage.name, key);
  let firstRefusal: string | undefined;
  for (const dir of candidates) {
    const manifest = await readManifest(dir);
    const was = manifest?.inputs;
    const growth = !was
      ? { refused: 'its inputs are not recorded (entry from an older isobuild)' }
      : (sameOutside(was, now) ?? stage.growsBy(was.values, now.values));
    if ('refused' in growth) {
      firstRefusal ??= `${shortKey(manifest?.key ?? '')}: ${growth.refused}`;
      continue;
    }
    if ((await checkEntry(dir, 'quick')).length) continue;
    const entry = await openEntry(dir, manifest!.key);
    if (!entry) continue;
    return {
      base: {
        key: entry.key,
        dir: entry.dir,
        rootfs: entry.rootfs,
        bootfs: entry.bootfs,
        meta: entry.meta,
        added: growth.added,
      },
    };
  }
  return firstRefusal ? { refused: firstRefusal } : undefined;
}

/** Why two records differ in more than their values (a refusal), or undefined. */
function sameOutside(was: StageInputsRecord, now: StageInputsRecord): { refused: string } | undefined {
  const filesDiffer = () => {
    const names = [...new Set([...Object.keys(was.files), ...Object.keys(now.files)])].sort();
    return names.filter((n) => was.files[n] !== now.files[n]);
  };
  if (was.isobuild !== now.isobuild)
    return { refused: `isobuild changed (${was.isobuild} → ${now.isobuild})` };
  if (was.version !== now.version) return { refused: "the stage's code changed" };
  if (was.sourceDateEpoch !== now.sourceDateEpoch) return { refused: 'SOURCE_DATE_EPOCH changed' };
  if (was.parentKey !== now.parentKey) return { refused: 'its parent stage changed' };
  if (JSON.stringify(was.toolVersions) !== JSON.stringify(now.toolVersions))
    return { refused: 'tool versions changed' };
  const files = filesDiffer();
  if (files.length) return { refused: `${files.join(', ')} changed` };
  return undefined;
}

/** The stage's entry folders in every repo's folder but `key`'s own, most recently used first. */
async function entriesOf(layout: CacheLayout, stage: string, key: string): Promise<string[]> {
  const found: { dir: string; mtime: number }[] = [];
  for (const repo of await readdir(layout.allStages).catch(() => [] as string[])) {
    for (const name of await readdir(layout.stages(repo)).catch(() => [] as string[])) {
      const entryKey = entryKeyOf(name, stage);
      if (!entryKey || entryKey === key) continue;
      const dir = join(layout.stages(repo), name);
      const st = await stat(dir).catch(() => undefined);
      if (st) found.push({ dir, mtime: st.mtimeMs });
    }
  }
  return found.sort((a, b) => b.mtime - a.mtime).map((f) => f.dir);
}
