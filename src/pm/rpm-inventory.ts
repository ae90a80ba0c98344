import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { exists } from '../fs/exists.js';
import {
  addPackageFile,
  comparePackages,
  packageKey,
  type InstalledPackage,
  type PackageFiles,
  type SourceIndex,
} from '../inventory/types.js';
import type { PackageLock } from '../lock/lock-file.js';
import { sha256File } from '../fs/hash.js';
import { rpmCacheDir } from './rpm-cache-dir.js';
import { RPM_DBPATH, RPM_ENV, rpmRootArgs } from './rpm-db.js';
import { bundledRepoDir, bundledRpmRepos } from './rpm-bundle-repos.js';
import { parseRepoFile } from './rpm-repo-files.js';
import type { PmContext } from './types.js';

/** Epoch only when there is one, as rpm -q and dnf print a version. */
const RPM_VERSION = '%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}';
const QUERY = `%{NAME}\\t${RPM_VERSION}\\t%{ARCH}\\t%{SOURCERPM}\\n`;

export function parseRpmQuery(stdout: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const line of stdout.split('\n')) {
    const [name, version, arch, sourceRpm] = line.split('\t');
    // Imported GPG keys are pseudo-packages in the database, not software.
    if (!name || !version || !arch || name === 'gpg-pubkey') continue;
    const source = /^(.+)-[^-]+-[^-]+\.src\.rpm$/.exec(sourceRpm ?? '')?.[1];
    out.push({ name, version, arch, source: source ?? name });
  }
  return out.sort(comparePackages);
}

/** The file name createrepo and dnf's cache give a package: name-version-release.arch.rpm (no epoch). */
export function rpmFileName(p: { name: string; version: string; arch: string }): string {
  return `${p.name}-${p.version.replace(/^\d+:/, '')}.${p.arch}.rpm`;
}

/** Every .rpm below a folder, by file name (dnf's cache: <repoid>-<hash>/packages/*.rpm). */
export async function findRpmFiles(
  dir: string,
  origin: (path: string) => string,
): Promise<Map<string, [string, string]>> {
  const found = new Map<string, [string, string]>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries)
    if (e.isFile() && e.name.endsWith('.rpm') && !found.has(e.name)) {
      const path = join(e.parentPath, e.name);
      found.set(e.name, [path, origin(path)]);
    }
  return found;
}

/**
 * The root's rpm database, with each package file's sha256 where a copy is at hand: the
 * persistent package cache (keepcache=1), or a file:// repository, which dnf reads in place.
 */
export async function listRpmInstalled(ctx: PmContext): Promise<InstalledPackage[] | undefined> {
  const db = join(ctx.rootfs, RPM_DBPATH);
  if (!(await exists(join(db, 'rpmdb.sqlite'))) && !(await exists(join(db, 'Packages')))) return undefined;
  const res = await ctx.run('rpm', [...rpmRootArgs(ctx.rootfs), '-qa', '--qf', QUERY], { env: RPM_ENV });
  const installed = parseRpmQuery(res.stdout);
  const cacheDir = await rpmCacheDir(ctx);
  const files = await findRpmFiles(cacheDir, (path) => {
    const dir = path.slice(cacheDir.length + 1).split('/')[0] ?? '';
    return dir.replace(/-[0-9a-f]{16}$/, '');
  });
  const bundle = bundledRpmRepos();
  for (const repoFile of ctx.spec.repoFiles)
    for (const section of parseRepoFile(await readFile(repoFile, 'utf8'))) {
      // A rebuild from a bundle reads the repository there, whatever the baseurl says (docs/bundle.md).
      const restored = bundle && bundledRepoDir(bundle, section.id);
      const url = restored ? `file://${restored}` : section.options.baseurl?.split(/\s+/)[0];
      if (!url?.startsWith('file://')) continue;
      const local = await findRpmFiles(decodeURIComponent(url.slice('file://'.length)), () => section.id);
      for (const [name, found] of local) if (!files.has(name)) files.set(name, found);
    }
  return Promise.all(
    installed.map(async (p) => {
      const found = files.get(rpmFileName(p));
      return found ? { ...p, sha256: await sha256File(found[0]), origin: found[1] } : p;
    }),
  );
}

/**
 * Every file of every package in the root's rpm database, read by the host's rpm (--root,
 * --dbpath), so a root without rpm of its own is read the same; undefined without a database.
 */
export async function listRpmFiles(ctx: PmContext): Promise<PackageFiles | undefined> {
  const db = join(ctx.rootfs, RPM_DBPATH);
  if (!(await exists(join(db, 'rpmdb.sqlite'))) && !(await exists(join(db, 'Packages')))) return undefined;
  const res = await ctx.run(
    'rpm',
    [...rpmRootArgs(ctx.rootfs), '-qa', '--qf', '[%{=NAME}\\t%{FILENAMES}\\n]'],
    {
      env: RPM_ENV,
    },
  );
  const files = new Map<string, string[]>();
  for (const line of res.stdout.split('\n')) {
    const [name, path] = line.split('\t');
    if (name && path?.startsWith('/') && name !== 'gpg-pubkey') addPackageFile(files, path, name);
  }
  return files;
}

/** dnf's repoquery prints a checksum as Python's repr of (type, bytes): decode the bytes. */
export function parseChecksumRepr(text: string): string | undefined {
  const m = /b(['"])(.*)\1\)$/.exec(text.trim());
  if (!m) return undefined;
  const body = m[2]!;
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      bytes.push(c.charCodeAt(0));
      continue;
    }
    const next = body[++i]!;
    if (next === 'x') {
      bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (next in simple) bytes.push(simple[next]!);
    else return undefined;
  }
  // Only sha256 (32 bytes) is comparable with what the lock and the manifests record.
  return bytes.length === 32 ? Buffer.from(bytes).toString('hex') : undefined;
}

/** The repoquery format parseRepoquery reads. */
export const REPOQUERY_FORMAT = '%{name}\t%{epoch}\t%{version}\t%{release}\t%{arch}\t%{repoid}\t%{chksum}';

export function parseRepoquery(stdout: string): SourceIndex {
  const index: SourceIndex = new Map();
  for (const line of stdout.split('\n')) {
    const [name, epoch, version, release, arch, repoid, chksum] = line.split('\t');
    if (!name || !version || !release || !arch || !chksum) continue;
    const sha256 = parseChecksumRepr(chksum);
    if (!sha256) continue;
    const full = `${epoch && epoch !== '0' ? `${epoch}:` : ''}${version}-${release}`;
    const key = packageKey({ name, version: full, arch });
    if (!index.has(key)) index.set(key, { sha256, origin: repoid ?? '' });
  }
  return index;
}

/** Package arguments with the lock's exact versions: `bash` becomes `bash-5.2.15-2.x86_64`. */
export function lockedArgs(packages: readonly string[], lock: PackageLock | undefined): string[] {
  if (!lock) return [...packages];
  const byName = new Map(lock.packages.map((p) => [p.name, p]));
  return packages.map((n) => {
    const p = byName.get(n);
    return p ? `${p.name}-${p.version}.${p.arch}` : n;
  });
}
