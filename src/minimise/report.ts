import { lstat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { KeepSet, KeepReason } from './closure.js';
import { hostPath } from '../rootfs/root-path.js';
import type { TreeSize } from '../fs/measure-tree.js';
import { formatBytes } from '../fs/disk-space.js';

/** Sizes of a root and what the minimise stage kept, written to artifacts/minimise-manifest.json. */

export interface ManifestEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  bytes: number;
  reasons: KeepReason[];
  /** What caused the path to be kept (the binary needing a library, the link naming it...). */
  via?: string[];
}

export interface MinimiseManifest {
  version: 1;
  before: TreeSize;
  after: TreeSize;
  /** Directories holding the most kept bytes (files directly in them), largest first. */
  largestDirs: { path: string; bytes: number }[];
  workloads: { argv: string[]; exitCode: number; accesses: number }[];
  excluded: string[];
  entries: ManifestEntry[];
}

export async function buildManifest(
  root: string,
  keep: KeepSet,
  extra: Pick<MinimiseManifest, 'before' | 'after' | 'workloads' | 'excluded'>,
): Promise<MinimiseManifest> {
  const entries: ManifestEntry[] = [];
  const perDir = new Map<string, number>();
  for (const path of keep.paths()) {
    const e = keep.entries.get(path);
    if (!e) continue;
    const st = await lstat(hostPath(root, path)).catch(() => undefined);
    const bytes = st?.isFile() ? st.size : 0;
    if (bytes) perDir.set(posix.dirname(path), (perDir.get(posix.dirname(path)) ?? 0) + bytes);
    const entry: ManifestEntry = { path, type: e.type, bytes, reasons: [...e.reasons].sort() };
    if (e.via.size) entry.via = [...e.via].sort();
    entries.push(entry);
  }
  const largestDirs = [...perDir]
    .map(([path, bytes]) => ({ path, bytes }))
    .sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1))
    .slice(0, 10);
  return { version: 1, ...extra, largestDirs, entries };
}

/** The human summary the stage logs. */
export function summarise(m: MinimiseManifest): string[] {
  const pct = m.before.bytes ? ((100 * m.after.bytes) / m.before.bytes).toFixed(1) : '0';
  return [
    `minimised root: ${m.after.files} files, ${formatBytes(m.after.bytes)} ` +
      `(was ${m.before.files} files, ${formatBytes(m.before.bytes)}; ${pct}%)`,
    'largest kept directories:',
    ...m.largestDirs.map((d) => `  ${formatBytes(d.bytes).padStart(10)}  ${d.path}`),
  ];
}
