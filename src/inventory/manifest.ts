import { lstat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { exists } from '../fs/exists.js';
import { digestOutput, type OutputDigest } from '../image/output-digest.js';
import type { CacheEntry } from '../cache/cache.js';
import { recordedDigest, recordedEntries } from '../cache/cache-integrity.js';
import { sha256File } from '../fs/hash.js';
import type { StageOutcome } from '../stage/types.js';
import type { BuildPlan, StageName } from '../stage/types.js';
import type { PackageManager, PmContext } from '../pm/types.js';
import { VERSION } from '../version.js';
import { readDistro, type Distro } from './os-release.js';
import { listRootFiles } from './root-files.js';
import type { FileRecord, InstalledPackage, PackageFiles } from './types.js';
import { assignOwners, type FileOwner, type RemovedFile } from './ownership.js';
import { hookRecordsOf } from '../hooks/hook-files.js';

export const MANIFEST_VERSION = 1;

/** Where isobuild's own init layer lives in a root (VIC's static busybox, the tether); the spec's init joins them. */
const ISOBUILD_PATHS = ['/init', '/etc/isobuild/', '/usr/lib/isobuild/'];

/** What a stage's cache key was computed from; files as digests so the manifest stays small. */
export interface StageRecord {
  readonly name: StageName;
  readonly key: string;
  readonly values: unknown;
  readonly files: Record<string, string>;
  readonly toolVersions: readonly string[];
}

/** `<output>.manifest.json`: what is inside one output (mkosi's manifest, plus files and stages). */
export interface Manifest {
  readonly manifestVersion: typeof MANIFEST_VERSION;
  readonly generator: string;
  readonly repo: string;
  readonly target: string;
  readonly format: string;
  readonly packagemanager: string;
  readonly distro: Distro;
  readonly sourceDateEpoch: number;
  /** The output: its sha256 (a folder's over its files' sha256sum lines) and a folder's files. */
  readonly output: { readonly name: string } & OutputDigest;
  readonly kernel?: { readonly version: string; readonly sha256: string; readonly size: number };
  /** The stage whose root's package database was read (the last one that still has it). */
  readonly packagesFrom?: StageName;
  readonly packages: readonly InstalledPackage[];
  /** Files isobuild put into the root itself (init, static busybox, tether), not any package. */
  readonly isobuildFiles: readonly FileRecord[];
  /** Every entry of the initrd's root, with its owner (inventory/ownership.ts). */
  readonly initrdFiles: readonly (FileRecord & { readonly owner?: FileOwner })[];
  /** Files (not directories) no package, hook, kernel or isobuild layer accounts for; `unowned: error` fails on them. */
  readonly unowned?: readonly string[];
  /** Files the packages installed that the root lacks, and what removed them. */
  readonly removedFiles?: readonly RemovedFile[];
  readonly stages: readonly StageRecord[];
}

export interface ManifestInputs {
  plan: BuildPlan;
  format: string;
  /** The written output (a file or a folder). */
  output: string;
  /** Its digest, when the caller has it already (the build's `output` event). */
  outputDigest?: OutputDigest;
  outcomes: readonly StageOutcome[];
  /** The last stage's entry: the initrd's root, the boot tree. */
  final: CacheEntry;
  /** Per stage; undefined where the pipeline skipped a stage it did not need. */
  entries: readonly (CacheEntry | undefined)[];
  pm: PackageManager;
  /** Context for the package manager's queries; its rootfs is replaced per entry. */
  pmContext: PmContext;
}

/** The stage's inputs as its key had them (per-file digests computed once, in pipeline/stage-keys.ts). */
function describeStage(o: StageOutcome): StageRecord {
  const { values, files, toolVersions } = o.record;
  return { name: o.stage, key: o.key, values, files, toolVersions };
}

/** The packages of the last entry whose root still has a package database (minimise drops it), and their files. */
async function readPackages(i: ManifestInputs): Promise<{
  from?: StageName;
  /** The meta of the entry the packages were read from. */
  meta?: CacheEntry['meta'];
  root: string;
  packages: readonly InstalledPackage[];
  files?: PackageFiles;
}> {
  for (let n = i.entries.length - 1; n >= 0; n--) {
    const root = i.entries[n]?.rootfs;
    if (!root) continue;
    const ctx = { ...i.pmContext, rootfs: root };
    const packages = await i.pm.listInstalled(ctx);
    if (packages)
      return {
        from: i.outcomes[n]!.stage,
        meta: i.entries[n]!.meta,
        root,
        packages,
        files: await i.pm.listPackageFiles(ctx),
      };
  }
  return { root: i.final.rootfs, packages: [] };
}

/** The boot tree's kernel; its digest from the cache entry's manifest when the file still matches it. */
async function describeKernel(version: string, vmlinuz: string): Promise<Manifest['kernel']> {
  const st = await lstat(vmlinuz, { bigint: true });
  const recorded = await recordedEntries(dirname(vmlinuz));
  const sha256 = recordedDigest(recorded, basename(vmlinuz), st) ?? (await sha256File(vmlinuz));
  return { version, sha256, size: Number(st.size) };
}

export async function makeManifest(i: ManifestInputs): Promise<Manifest> {
  const { plan } = i;
  const final = i.final;
  const initrdFiles = await listRootFiles(final.rootfs, await recordedEntries(final.rootfs));
  const { from, meta, root, packages, files: packageFiles } = await readPackages(i);
  const vmlinuz = join(final.bootfs, 'vmlinuz');
  const kernelVersion = final.meta.kernelVersion;
  const kernel =
    kernelVersion && (await exists(vmlinuz)) ? await describeKernel(kernelVersion, vmlinuz) : undefined;
  const stages = i.outcomes.map(describeStage);
  const ran = (stage: StageName) => i.outcomes.some((o) => o.stage === stage && o.status !== 'skipped');
  const owned = assignOwners({
    files: initrdFiles,
    ...(packageFiles ? { packageFiles } : {}),
    packages,
    // The hooks' record of the root the packages describe: a later entry reused by early
    // cutoff (src/cache/output-digest.ts) keeps the record of the build that made it.
    hooks: hookRecordsOf(meta ?? final.meta),
    isobuildPaths: [...ISOBUILD_PATHS, plan.spec.init],
    ...(kernel ? { kernel: { version: kernel.version, built: ran('kernel') } } : {}),
    minimised: ran('minimise'),
    packagemanager: plan.spec.packagemanager,
  });
  return {
    manifestVersion: MANIFEST_VERSION,
    generator: `isobuild ${VERSION}`,
    repo: plan.spec.name,
    target: plan.target,
    format: i.format,
    packagemanager: plan.spec.packagemanager,
    // A root without os-release (a hand-made distribution) is named after its repo: offline-1.0 → offline.
    distro: await readDistro(root, {
      id: plan.spec.name.replace(/-[\d.]+$/, '') || plan.spec.name,
      versionId: plan.spec.release,
    }),
    sourceDateEpoch: plan.options.sourceDateEpoch,
    output: { name: basename(i.output), ...(i.outputDigest ?? (await digestOutput(i.output))) },
    ...(kernel ? { kernel } : {}),
    ...(from ? { packagesFrom: from } : {}),
    packages,
    isobuildFiles: initrdFiles.filter(
      (f) =>
        f.type !== 'dir' &&
        [...ISOBUILD_PATHS, plan.spec.init].some((p) => f.path === p || f.path.startsWith(p)),
    ),
    initrdFiles: owned.files,
    unowned: owned.unowned,
    removedFiles: owned.removed,
    stages,
  };
}
