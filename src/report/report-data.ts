import { diffManifests } from '../inventory/diff.js';
import { stagesLine } from '../inventory/diff-text.js';
import type { Manifest } from '../inventory/manifest.js';
import type { FileRecord } from '../inventory/types.js';
import { kernelOwner, makeOwners } from './owners.js';
import { makeSizeTree } from './size-tree.js';
import type { BudgetRow, DiffMark, DiffSummary, PackageRow, ReportData, StageSpan } from './types.js';

export interface ReportInputs {
  readonly manifest: Manifest;
  /** path → package, from the package database of the root the manifest's packages were read from. */
  readonly dpkgOwners?: ReadonlyMap<string, string>;
  /** package → its licences, where known. */
  readonly licences?: ReadonlyMap<string, readonly string[]>;
  readonly stages: readonly StageSpan[];
  /** `--against`: the other output's manifest; this one is the newer side (added = only here). */
  readonly against?: Manifest;
  readonly budgets?: readonly BudgetRow[];
  readonly notes?: readonly string[];
}

const fileBytes = (files: readonly FileRecord[]) =>
  files.reduce((n, f) => n + (f.type === 'file' ? (f.size ?? 0) : 0), 0);

function summariseDiff(m: Manifest, other: Manifest): { summary: DiffSummary; marks: Marks } {
  const d = diffManifests(other, m);
  const summary: DiffSummary = {
    against: { name: other.output.name, repo: other.repo },
    packages: {
      added: d.packages.added.map((p) => `${p.name} ${p.version}`),
      removed: d.packages.removed.map((p) => `${p.name} ${p.version}`),
      changed: d.packages.changed.map((p) => `${p.name} ${p.from} → ${p.to}`),
    },
    files: {
      added: d.files.added.length,
      removed: d.files.removed.length,
      changed: d.files.changed.length,
      sizeDelta: fileBytes(m.initrdFiles) - fileBytes(other.initrdFiles),
    },
    stages: stagesLine(d, undefined, [other.repo, m.repo]),
  };
  const marks: Marks = {
    packages: new Map([
      ...d.packages.added.map((p) => [p.name, 'added'] as const),
      ...d.packages.changed.map((p) => [p.name, 'changed'] as const),
    ]),
    files: new Map([
      ...d.files.added.map((f) => [f.path, 'added'] as const),
      ...d.files.changed.map((f) => [f.path, 'changed'] as const),
    ]),
  };
  return { summary, marks };
}

interface Marks {
  packages: ReadonlyMap<string, DiffMark>;
  files: ReadonlyMap<string, DiffMark>;
}

/** The report's data from one output's manifest and what the cache still knows about its build. */
export function makeReportData(i: ReportInputs): ReportData {
  const m = i.manifest;
  const owners = makeOwners(m, i.dpkgOwners);
  const ownerOf = (f: FileRecord) => owners.ofFile(f);
  const diff = i.against ? summariseDiff(m, i.against) : undefined;
  const names = [...new Set(m.packages.map((p) => p.name))];
  const tree = makeSizeTree({
    files: m.initrdFiles,
    ownerOf,
    packages: names,
    packageOwner: (n) => owners.ofPackage(n),
    ...(m.kernel ? { extra: [{ path: '/boot/vmlinuz', size: m.kernel.size, owner: kernelOwner(m) }] } : {}),
    ...(diff
      ? {
          fileDiff: (f: FileRecord) => diff.marks.files.get(f.path),
          packageDiff: (n: string) => diff.marks.packages.get(n),
        }
      : {}),
  });
  // A package's bytes: its files' (the kernel's package is a package with kind kernel).
  const packageOwned = new Set(['package', 'kernel']);
  const sizes = new Map<string, { size: number; files: number }>();
  for (const f of m.initrdFiles) {
    if (f.type !== 'file') continue;
    const { kind, name } = ownerOf(f);
    if (!packageOwned.has(kind) || !names.includes(name)) continue;
    const s = sizes.get(name) ?? { size: 0, files: 0 };
    sizes.set(name, { size: s.size + (f.size ?? 0), files: s.files + 1 });
  }
  const packages: PackageRow[] = m.packages.map((p) => {
    const mark = diff?.marks.packages.get(p.name);
    return {
      name: p.name,
      version: p.version,
      arch: p.arch,
      licences: i.licences?.get(p.name) ?? [],
      size: sizes.get(p.name)?.size ?? 0,
      files: sizes.get(p.name)?.files ?? 0,
      ...(mark ? { diff: mark } : {}),
    };
  });
  const rootFiles = m.initrdFiles.filter((f) => f.type === 'file');
  return {
    title: `${m.repo} ${m.target}: ${m.output.name}`,
    repo: m.repo,
    target: m.target,
    output: { name: m.output.name, size: m.output.size, sha256: m.output.sha256, format: m.format },
    distro: `${m.distro.id} ${m.distro.versionId}`,
    ...(m.kernel ? { kernel: m.kernel.version } : {}),
    generator: m.generator,
    rootSize: fileBytes(rootFiles),
    rootFiles: rootFiles.length,
    tree,
    packages,
    stages: i.stages,
    ...(diff ? { diff: diff.summary } : {}),
    ...(i.budgets?.length ? { budgets: i.budgets } : {}),
    notes: i.notes ?? [],
  };
}
