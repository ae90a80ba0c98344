import type { Manifest } from './manifest.js';
import { canonicalPath, linksOf, type FileOwner, type RemovedFile } from './ownership.js';
import type { FileRecord } from './types.js';

/** What a manifest says about one path of the output's root (`isobuild why`). */
export type FileOrigin =
  | {
      readonly path: string;
      readonly found: 'present';
      readonly file: FileRecord;
      readonly owner?: FileOwner;
    }
  | { readonly path: string; readonly found: 'removed'; readonly removed: RemovedFile }
  | { readonly path: string; readonly found: 'absent' };

/**
 * The path as asked, else with its directories' links followed (/bin/busybox where /bin links
 * to usr/bin is /usr/bin/busybox); a file a package installed that the root lacks is reported
 * with what removed it.
 */
export function explainPath(m: Manifest, asked: string): FileOrigin {
  const path = asked.startsWith('/') ? asked : `/${asked}`;
  const canonical = canonicalPath(path, linksOf(m.initrdFiles));
  for (const p of [path, canonical]) {
    const file = m.initrdFiles.find((f) => f.path === p);
    if (file) return { path: p, found: 'present', file, ...(file.owner ? { owner: file.owner } : {}) };
  }
  const removed = m.removedFiles?.find((r) => r.path === canonical || r.path === path);
  if (removed) return { path: removed.path, found: 'removed', removed };
  return { path: canonical, found: 'absent' };
}
