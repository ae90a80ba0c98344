import type { HookFileRecords } from '../hooks/hook-files.js';
import { compareText, type FileRecord, type InstalledPackage, type PackageFiles } from './types.js';

/** Where a file of the root came from (docs/supply-chain.md). */
export const OWNER_KINDS = ['package', 'hook', 'isobuild', 'kernel', 'package-manager', 'unowned'] as const;
export type OwnerKind = (typeof OWNER_KINDS)[number];

export interface FileOwner {
  readonly kind: OwnerKind;
  /** The package, hook file (staging.sh), kernel version or stage. */
  readonly name?: string;
  /** How the file got there, in a sentence. */
  readonly how: string;
}

export type OwnedFileRecord = FileRecord & { readonly owner: FileOwner };

/** A file a package or a hook put into the root that the output lacks, and what removed it. */
export interface RemovedFile {
  readonly path: string;
  /** Who put it there: a package or a hook (no `how`: thousands of these, one sentence each, would double a manifest). */
  readonly owner: Pick<FileOwner, 'kind' | 'name'>;
  /** The hook file (staging.sh), `minimise`, or `isobuild` (a stage's clean-up: caches, docs, unneeded modules). */
  readonly by: string;
}

/** Package-manager state: databases and caches the package manager itself keeps in the root. */
const PM_STATE = [
  '/var/lib/dpkg/',
  '/var/lib/apt/',
  '/var/lib/rpm/',
  '/var/lib/dnf/',
  '/var/cache/',
  '/var/log/',
];
const MODULE_DIRS = ['/lib/modules/', '/usr/lib/modules/'];

export interface OwnershipInputs {
  /** Every entry of the output's root (the manifest's initrdFiles). */
  readonly files: readonly FileRecord[];
  /** The package database's file lists, from the root the packages were read from. */
  readonly packageFiles?: PackageFiles;
  readonly packages: readonly InstalledPackage[];
  /** What each hook wrote, in the order they ran (the last stage's meta). */
  readonly hooks: HookFileRecords;
  /** Paths of isobuild's init and tether layer (a prefix ends in /). */
  readonly isobuildPaths: readonly string[];
  readonly kernel?: { readonly version: string; readonly built: boolean };
  /** Whether the minimise stage made the root. */
  readonly minimised: boolean;
  readonly packagemanager: string;
}

/**
 * A path with its directories' links followed through `links` (path → link target, as the
 * root holds them): dpkg lists /bin/busybox where /bin links to usr/bin, the root has
 * /usr/bin/busybox. The last component is kept as it is: a link is a file of its own.
 */
export function canonicalPath(path: string, links: ReadonlyMap<string, string>): string {
  const parts = path.split('/').filter(Boolean);
  let out: string[] = [];
  let hops = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '.') continue;
    if (part === '..') {
      out.pop();
      continue;
    }
    out.push(part);
    const target = i < parts.length - 1 ? links.get(`/${out.join('/')}`) : undefined;
    // 40 hops, as the kernel's limit: a link loop ends the walk instead of the build.
    if (target === undefined || hops++ >= 40) continue;
    out.pop();
    if (target.startsWith('/')) out = [];
    parts.splice(i + 1, 0, ...target.split('/').filter(Boolean));
  }
  return `/${out.join('/')}`;
}

export function linksOf(files: readonly FileRecord[]): Map<string, string> {
  return new Map(files.filter((f) => f.type === 'link' && f.target).map((f) => [f.path, f.target!]));
}

const under = (path: string, prefixes: readonly string[]) =>
  prefixes.some((p) => (p.endsWith('/') ? path.startsWith(p) || `${path}/` === p : path === p));

/** The package database's paths as the root has them: canonical path → [listed path, packages]. */
function packageOwners(i: OwnershipInputs, links: ReadonlyMap<string, string>) {
  const owners = new Map<string, { listed: string; packages: readonly string[] }>();
  for (const [listed, packages] of i.packageFiles ?? [])
    owners.set(canonicalPath(listed, links), { listed, packages: [...packages].sort(compareText) });
  return owners;
}

/**
 * Every entry of the root with its owner, the files no package, hook, kernel or isobuild layer
 * accounts for (directories aside: a layout's mkdir is not content), and the packages' files the
 * root lacks with what removed them. Precedence: the last hook that wrote a file, then the
 * package that lists it, isobuild's layer, the kernel's modules, the package manager's state.
 */
export function assignOwners(i: OwnershipInputs): {
  files: OwnedFileRecord[];
  unowned: string[];
  removed: RemovedFile[];
} {
  const links = linksOf(i.files);
  const owners = packageOwners(i, links);
  // The spec's init is /bin/init; with /bin → usr/bin the root holds /usr/bin/init.
  const isobuildPaths = i.isobuildPaths.map((p) => canonicalPath(p, links) + (p.endsWith('/') ? '/' : ''));
  const versions = new Map(i.packages.map((p) => [p.name, `${p.version} (${p.arch})`]));
  // The last hook first: it had the last word on a file. Sets: a root has thousands of files.
  const hooks = Object.entries(i.hooks)
    .reverse()
    .map(([name, c]) => ({
      name,
      added: new Set(c.added),
      changed: new Set(c.changed),
      removed: new Set(c.removed),
    }));
  const pm = i.packagemanager;
  const packageOf = (path: string) =>
    owners.get(path) ?? owners.get(`${path}.xz`) ?? owners.get(`${path}.zst`);

  const ownerOf = (f: FileRecord): FileOwner => {
    const listed = owners.get(f.path);
    for (const { name: hook, added, changed } of hooks) {
      if (added.has(f.path)) return { kind: 'hook', name: hook, how: `written by the repo hook ${hook}` };
      if (changed.has(f.path))
        return {
          kind: 'hook',
          name: hook,
          how: `changed by the repo hook ${hook}${listed ? ` (installed by package ${listed.packages.join(', ')})` : ''}`,
        };
    }
    if (listed) {
      const name = listed.packages[0]!;
      const also =
        listed.packages.length > 1 ? ` (also listed by ${listed.packages.slice(1).join(', ')})` : '';
      const as = listed.listed !== f.path ? `, which lists it as ${listed.listed}` : '';
      return {
        kind: 'package',
        name,
        how: `installed by ${pm} from package ${name} ${versions.get(name) ?? ''}`.trimEnd() + as + also,
      };
    }
    if (under(f.path, isobuildPaths))
      return { kind: 'isobuild', name: 'tether', how: "isobuild's init and tether layer (the tether stage)" };
    if (i.kernel && under(f.path, MODULE_DIRS)) {
      const compressed = packageOf(f.path);
      return {
        kind: 'kernel',
        name: `linux ${i.kernel.version}`,
        how: i.kernel.built
          ? 'the kernel built from source (the kernel stage: modules and depmod)'
          : compressed
            ? `a module of package ${compressed.packages[0]}, decompressed by iso-base`
            : 'written by depmod for the kernel package (iso-base)',
      };
    }
    // mmdebstrap makes /bin, /lib... links into /usr itself; no package lists them (RPM's filesystem does).
    if (f.type === 'link' && /^\/[^/]+$/.test(f.path) && f.target === `usr${f.path}`)
      return { kind: 'package-manager', name: pm, how: `the merged-/usr link the ${pm} bootstrap made` };
    if (under(f.path, PM_STATE))
      return { kind: 'package-manager', name: pm, how: `the state and database ${pm} keeps in the root` };
    return { kind: 'unowned', how: 'no package lists it, and no hook or isobuild stage wrote it' };
  };

  const files = i.files.map((f) => ({ ...f, owner: ownerOf(f) }));
  const unowned = files.filter((f) => f.type !== 'dir' && f.owner.kind === 'unowned').map((f) => f.path);
  const present = new Set(i.files.map((f) => f.path));
  const removed = new Map<string, RemovedFile>();
  const removedBy = (path: string, after: number) =>
    hooks.slice(0, after).find((h) => h.removed.has(path))?.name ?? (i.minimised ? 'minimise' : 'isobuild');
  for (const [path, { packages }] of owners) {
    // A module the kernel's package ships compressed, decompressed in the root.
    if (present.has(path) || path === '/' || present.has(path.replace(/\.(xz|zst)$/, ''))) continue;
    const name = packages[0]!;
    removed.set(path, {
      path,
      owner: { kind: 'package', name },
      by: removedBy(path, hooks.length),
    });
  }
  // A file a hook wrote that a later hook or stage removed; hooks are latest first.
  hooks.forEach((h, n) => {
    for (const path of h.added)
      if (!present.has(path) && !removed.has(path))
        removed.set(path, {
          path,
          owner: { kind: 'hook', name: h.name },
          by: removedBy(path, n),
        });
  });
  return { files, unowned, removed: [...removed.values()].sort((a, b) => compareText(a.path, b.path)) };
}
