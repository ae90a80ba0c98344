import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { formatBytes } from '../fs/disk-space.js';
import { diffManifests, type ManifestDiff } from '../inventory/diff.js';
import { MANIFEST_VERSION, type Manifest } from '../inventory/manifest.js';
import type { FileRecord, InstalledPackage } from '../inventory/types.js';
import { inventoryPaths } from '../inventory/write-inventory.js';
import { cacheLayout, lookupEntry } from '../pipeline/cache.js';
import { writeEvent } from '../log/events.js';
import { cacheRoot, type GlobalOptions } from './context.js';

/** An output (ISO, folder...) or its manifest: the manifest written next to the output. */
export async function readManifestOf(path: string): Promise<Manifest> {
  const file = path.endsWith('.manifest.json') ? path : inventoryPaths(path).manifest;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`${path}: no manifest at ${file} (outputs get one when isobuild builds them)`);
  }
  const m = JSON.parse(text) as Manifest;
  if (m.manifestVersion !== MANIFEST_VERSION)
    throw new UsageError(`${file}: not an isobuild manifest (manifestVersion ${MANIFEST_VERSION})`);
  return m;
}

const showPackage = (p: InstalledPackage) => `${p.name} ${p.version} (${p.arch})`;

function showFile(f: FileRecord): string {
  if (f.type === 'file') return `${f.path}  ${formatBytes(f.size ?? 0)}  sha256:${f.sha256?.slice(0, 16)}`;
  if (f.type === 'link') return `${f.path} -> ${f.target}`;
  return `${f.path}  (${f.type})`;
}

function showFileChange(from: FileRecord, to: FileRecord): string {
  const parts: string[] = [];
  if (from.type !== to.type) parts.push(`${from.type} → ${to.type}`);
  if (from.mode !== to.mode) parts.push(`mode ${from.mode} → ${to.mode}`);
  if (from.size !== to.size) parts.push(`${from.size ?? 0} → ${to.size ?? 0} bytes`);
  if (from.sha256 !== to.sha256 && to.sha256)
    parts.push(`sha256 ${from.sha256?.slice(0, 16) ?? '-'} → ${to.sha256.slice(0, 16)}`);
  if (from.target !== to.target) parts.push(`-> ${from.target} → ${to.target}`);
  return `${to.path}: ${parts.join(', ')}`;
}

export function formatDiff(d: ManifestDiff, cached: boolean | undefined): string[] {
  const { packages: p, files: f } = d;
  const out = [
    `packages: ${p.added.length} added, ${p.removed.length} removed, ${p.changed.length} changed`,
    ...p.added.map((x) => `  + ${showPackage(x)}`),
    ...p.removed.map((x) => `  - ${showPackage(x)}`),
    ...p.changed.map((x) => `  ~ ${x.name} (${x.arch}): ${x.from} → ${x.to}`),
    `initrd files: ${f.added.length} added, ${f.removed.length} removed, ${f.changed.length} changed`,
    ...f.added.map((x) => `  + ${showFile(x)}`),
    ...f.removed.map((x) => `  - ${showFile(x)}`),
    ...f.changed.map((x) => `  ~ ${showFileChange(x.from, x.to)}`),
  ];
  const s = d.firstStage;
  if (s) {
    const what = [
      s.values.length ? `spec values: ${s.values.join(', ')}` : '',
      s.files.length ? `files: ${s.files.join(', ')}` : '',
      s.toolVersions ? 'tool versions' : '',
    ].filter(Boolean);
    out.push(
      `first stage whose inputs differ: ${s.stage} (${what.join('; ') || 'its parent or isobuild itself'})` +
        (cached === undefined ? '' : cached ? ', both builds in this cache' : ', not both in this cache'),
    );
  } else out.push('stages: the same inputs for every stage both builds ran');
  return out;
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description(
      'compare two outputs (or their .manifest.json): packages, initrd files, first differing stage',
    )
    .argument('<a>', 'an output isobuild wrote (ISO, kernel+initrd folder...) or its manifest')
    .argument('<b>', 'the other output or manifest')
    .action(async (a: string, b: string, _flags: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const [ma, mb] = await Promise.all([readManifestOf(resolve(a)), readManifestOf(resolve(b))]);
      const d = diffManifests(ma, mb);
      let cached: boolean | undefined;
      if (d.firstStage) {
        const layout = cacheLayout(cacheRoot());
        const [ka, kb] = d.firstStage.keys;
        cached =
          !!(await lookupEntry(layout, ma.repo, d.firstStage.stage, ka)) &&
          !!(await lookupEntry(layout, mb.repo, d.firstStage.stage, kb));
      }
      if (globals.json) {
        writeEvent({ type: 'diff', a, b, ...d, bothInCache: cached ?? null });
        return;
      }
      process.stdout.write(formatDiff(d, cached).join('\n') + '\n');
    });
}
