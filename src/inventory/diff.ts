import type { Manifest, StageRecord } from './manifest.js';
import { compareText, type FileRecord, type InstalledPackage } from './types.js';

export interface PackageChange {
  readonly name: string;
  readonly arch: string;
  readonly from: string;
  readonly to: string;
}

export interface FileChange {
  readonly path: string;
  readonly from: FileRecord;
  readonly to: FileRecord;
}

export interface StageDifference {
  readonly stage: string;
  readonly keys: readonly [string, string];
  /** Top-level spec values that differ (packages, script...). */
  readonly values: readonly string[];
  /** Input files (labels) whose digests differ, or that only one side has. */
  readonly files: readonly string[];
  readonly toolVersions: boolean;
}

export interface ManifestDiff {
  readonly packages: {
    readonly added: readonly InstalledPackage[];
    readonly removed: readonly InstalledPackage[];
    readonly changed: readonly PackageChange[];
  };
  readonly files: {
    readonly added: readonly FileRecord[];
    readonly removed: readonly FileRecord[];
    readonly changed: readonly FileChange[];
  };
  /** The first stage whose inputs differ; undefined when every stage's key is the same or the stages differ. */
  readonly firstStage?: StageDifference;
  /**
   * How the builds' stages compare: `differ` (firstStage says where), `same` (every stage both
   * ran has the same key), `other-repo` (not compared), `other-stages` (a stage of one is not
   * the other's at the same place: other targets).
   */
  readonly stages: 'differ' | 'same' | 'other-repo' | 'other-stages';
  /**
   * The stages whose roots the package lists were read from, when they are not the same one:
   * a build reads the deepest root at hand that keeps a package database, and a stage skipped
   * (not cached, not needed) is not at hand.
   */
  readonly packagesFrom?: readonly [string | null, string | null];
}

function byKey<T>(items: readonly T[], key: (t: T) => string): Map<string, T> {
  return new Map(items.map((t) => [key(t), t]));
}

function differsByKey<T>(
  a: readonly T[],
  b: readonly T[],
  key: (t: T) => string,
  same: (x: T, y: T) => boolean,
) {
  const ma = byKey(a, key);
  const mb = byKey(b, key);
  return {
    added: b.filter((t) => !ma.has(key(t))),
    removed: a.filter((t) => !mb.has(key(t))),
    changed: a.flatMap((x) => {
      const y = mb.get(key(x));
      return y !== undefined && !same(x, y) ? [[x, y] as const] : [];
    }),
  };
}

const sameFile = (x: FileRecord, y: FileRecord) =>
  x.type === y.type &&
  x.mode === y.mode &&
  x.size === y.size &&
  x.sha256 === y.sha256 &&
  x.target === y.target;

function changedKeys(a: unknown, b: unknown): string[] {
  const ao = (a ?? {}) as Record<string, unknown>;
  const bo = (b ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(ao), ...Object.keys(bo)])]
    .filter((k) => JSON.stringify(ao[k]) !== JSON.stringify(bo[k]))
    .sort(compareText);
}

/** Keys chain (each includes its parent's), so the first differing key is where inputs first differ. */
export function firstDifferingStage(
  a: readonly StageRecord[],
  b: readonly StageRecord[],
): StageDifference | undefined {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name) return undefined;
    if (x.key === y.key) continue;
    return {
      stage: x.name,
      keys: [x.key, y.key],
      values: changedKeys(x.values, y.values),
      files: changedKeys(x.files, y.files),
      toolVersions: JSON.stringify(x.toolVersions) !== JSON.stringify(y.toolVersions),
    };
  }
  return undefined;
}

/** Two repos' builds compare too (a repo made with `new --from` differs from its model somewhere). */
function compareStages(a: Manifest, b: Manifest): Pick<ManifestDiff, 'firstStage' | 'stages'> {
  const firstStage = firstDifferingStage(a.stages, b.stages);
  if (firstStage) return { firstStage, stages: 'differ' };
  if (a.repo !== b.repo) return { stages: 'other-repo' };
  const common = Math.min(a.stages.length, b.stages.length);
  const sameNames = a.stages.slice(0, common).every((s, i) => s.name === b.stages[i]!.name);
  return { stages: sameNames ? 'same' : 'other-stages' };
}

export function diffManifests(a: Manifest, b: Manifest): ManifestDiff {
  const pkgKey = (p: InstalledPackage) => `${p.name} ${p.arch}`;
  const packages = differsByKey(
    a.packages,
    b.packages,
    pkgKey,
    (x, y) => x.version === y.version && x.sha256 === y.sha256,
  );
  const files = differsByKey(a.initrdFiles, b.initrdFiles, (f) => f.path, sameFile);
  return {
    packages: {
      added: packages.added,
      removed: packages.removed,
      changed: packages.changed.map(([x, y]) => ({
        name: x.name,
        arch: x.arch,
        from: x.version,
        to: y.version,
      })),
    },
    files: {
      added: files.added,
      removed: files.removed,
      changed: files.changed.map(([x, y]) => ({ path: x.path, from: x, to: y })),
    },
    ...compareStages(a, b),
    ...((a.packagesFrom ?? null) !== (b.packagesFrom ?? null)
      ? { packagesFrom: [a.packagesFrom ?? null, b.packagesFrom ?? null] as const }
      : {}),
  };
}
