import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { formatBytes } from '../fs/disk-space.js';
import type { ManifestDiff } from './diff.js';
import { MANIFEST_VERSION, type Manifest } from './manifest.js';
import type { FileRecord, InstalledPackage } from './types.js';
import { inventoryPaths } from './write-inventory.js';

/**
 * `isobuild diff`'s text, and reading the manifests it compares: the command prints it, the
 * HTML report (src/report/) shows the same verdict on its stages.
 */
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

export function formatDiff(
  d: ManifestDiff,
  cached: boolean | undefined,
  names: readonly [string, string] = ['a', 'b'],
): string[] {
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
  out.push(stagesLine(d, cached, names));
  return out;
}

/** Whether the two outputs differ at all (the exit status says it, as diff(1)'s does). */
export function outputsDiffer(d: ManifestDiff): boolean {
  const { packages: p, files: f } = d;
  return (
    d.stages !== 'same' ||
    [p.added, p.removed, p.changed, f.added, f.removed, f.changed].some((list) => list.length > 0)
  );
}

/**
 * The stages' verdict, true to the lists above it: equal inputs with differing packages mean
 * the package sources moved between the builds (a mirror update: same inputs, other versions),
 * or the lists were read from different stages' roots.
 */
export function stagesLine(
  d: ManifestDiff,
  cached: boolean | undefined,
  names: readonly [string, string],
): string {
  const s = d.firstStage;
  if (s) {
    const what = [
      s.values.length ? `spec values: ${s.values.join(', ')}` : '',
      s.files.length ? `files: ${s.files.join(', ')}` : '',
      s.toolVersions ? 'tool versions' : '',
    ].filter(Boolean);
    return (
      `first stage whose inputs differ: ${s.stage} (${what.join('; ') || 'its parent or isobuild itself'})` +
      (cached === undefined ? '' : cached ? ', both builds in this cache' : ', not both in this cache')
    );
  }
  if (d.stages === 'other-repo')
    return `stages: not compared (builds of different repos: ${names.join(', ')})`;
  if (d.stages === 'other-stages')
    return 'stages: not compared (the builds ran different stages: other targets)';
  const same = 'stages: the same inputs for every stage both builds ran';
  const { packages: p, files: f } = d;
  if (d.packagesFrom) {
    const [a, b] = d.packagesFrom.map((x) => x ?? 'none');
    return (
      `${same}; the package lists were read from different stages' roots (${a}, ${b}: a stage that was ` +
      "neither cached nor needed is not read), so the package differences are not the outputs'"
    );
  }
  if ([p.added, p.removed, p.changed].some((list) => list.length > 0))
    return `${same}, yet the packages differ: the package sources changed between the builds (a mirror update: the same inputs resolved to other versions)`;
  if ([f.added, f.removed, f.changed].some((list) => list.length > 0))
    return `${same}, yet the initrd files differ: the same inputs made other files (a step that is not reproducible)`;
  return same;
}
