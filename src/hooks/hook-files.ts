import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compareText } from '../inventory/types.js';
import type { StageMeta } from '../stage/types.js';

/** What one hook did to the root: paths (with a leading /) it added, changed and removed. */
export interface HookFileChanges {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
}

/** Per hook file name (base.sh, staging.sh): what it did; kept in the stage's meta so a cached root still knows. */
export type HookFileRecords = Readonly<Record<string, HookFileChanges>>;

/** path → a fingerprint that changes when the entry is written, replaced or retyped. */
type Snapshot = Map<string, string>;

/**
 * Every entry of a root with size, mtime, ctime, inode and mode: no file is read, so a root of
 * 20,000 files takes a fraction of a second. ctime is in it because a hook can reset mtime
 * (touch -d) but not ctime, and the inode because a rename over a file keeps size and times.
 */
export function snapshotRoot(root: string): Snapshot {
  const out: Snapshot = new Map();
  const walk = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir)) {
      const host = join(dir, name);
      const st = lstatSync(host, { bigint: true });
      const path = `${prefix}/${name}`;
      // A directory's times change whenever an entry in it does: its files say what changed.
      out.set(
        path,
        st.isDirectory() ? `d${st.mode}` : `${st.mode}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`,
      );
      if (st.isDirectory()) walk(host, path);
    }
  };
  walk(root, '');
  return out;
}

export function compareSnapshots(before: Snapshot, after: Snapshot): HookFileChanges {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [path, print] of after) {
    const was = before.get(path);
    if (was === undefined) added.push(path);
    else if (was !== print) changed.push(path);
  }
  for (const path of before.keys()) if (!after.has(path)) removed.push(path);
  return {
    added: added.sort(compareText),
    changed: changed.sort(compareText),
    removed: removed.sort(compareText),
  };
}

/** The hook records earlier stages left in the meta (none before the first hook ran). */
export function hookRecordsOf(meta: StageMeta): HookFileRecords {
  return (meta.hookFiles as HookFileRecords | undefined) ?? {};
}

/**
 * Runs `hook` between two snapshots of `root` and adds what changed to `meta.hookFiles` under
 * the hook's name: the manifest's file owners (inventory/ownership.ts) read it from the last
 * stage's meta, so a root taken from the cache still says which files a hook wrote.
 */
export async function recordHookFiles<T>(
  meta: StageMeta,
  root: string,
  name: string,
  hook: () => Promise<T>,
): Promise<T> {
  const before = snapshotRoot(root);
  const result = await hook();
  // A new object: the parent stage's meta may share the old one.
  meta.hookFiles = { ...hookRecordsOf(meta), [name]: compareSnapshots(before, snapshotRoot(root)) };
  return result;
}
