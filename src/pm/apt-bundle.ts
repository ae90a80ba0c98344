import { copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import { basename, delimiter, join } from 'node:path';
import { BundleError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { sha256File } from '../fs/hash.js';
import { packageKey, type InstalledPackage } from '../inventory/types.js';
import { LOCK_FILE } from '../lock/lock-file.js';
import { APT_CACHE_DIRS } from './apt-chroot.js';
import { aimedAptSources, APT_SOURCES_ENV } from './apt-sources.js';
import { digestSources, stampLists } from './lists-age.js';
import type { BundleParts, FetchedPackage, PmContext, RestoredBundle } from './types.js';

/** One enabled binary entry of a sources file: its URI, suites and the keyring that vouches for it. */
export interface SourceEntry {
  readonly uri: string;
  readonly suites: readonly string[];
  readonly signedBy?: string;
}

/** The `deb` entries of a one-line or deb822 sources text. */
export function parseSourceEntries(text: string): SourceEntry[] {
  const out: SourceEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*deb(?:\s+\[([^\]]*)\])?\s+(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(m[1] ?? '')?.[1];
    out.push({ uri: m[2]!, suites: [m[3]!], ...(signedBy ? { signedBy } : {}) });
  }
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(stanza)?.[1]?.trim();
    // `deb-src` is no binary entry (a word boundary after deb would take it for one).
    if (!(field('Types') ?? '').split(/\s+/).includes('deb') || /^Enabled:\s*no\s*$/im.test(stanza)) continue;
    const suites = (field('Suites') ?? '').split(/\s+/).filter(Boolean);
    const signedBy = field('Signed-By');
    for (const uri of (field('URIs') ?? '').split(/\s+/).filter(Boolean))
      out.push({ uri, suites, ...(signedBy?.startsWith('/') ? { signedBy } : {}) });
  }
  return out;
}

/** The start of apt's list file names for a suite of a URI (apt's URItoFileName: `host_path_dists_suite_`). */
export function listPrefix(uri: string, suite: string): string {
  const path = uri.replace(/^[a-z0-9+.-]+:\/\//i, '').replace(/\/+$/, '');
  return `${path}_dists_${suite}_`.replaceAll('/', '_');
}

/** The cached `.deb` of an installed package: apt's archive name (`%3a` for the epoch's colon), else the pool's. */
async function findDeb(archives: string, p: InstalledPackage): Promise<string | undefined> {
  const names = [
    `${p.name}_${p.version.replace(':', '%3a')}_${p.arch}.deb`,
    `${p.name}_${p.version.replace(/^\d+:/, '')}_${p.arch}.deb`,
  ];
  for (const name of names) if (await exists(join(archives, name))) return join(archives, name);
  return undefined;
}

/**
 * A sources file's name in the bundle: in a folder named by its place in the build's order, so
 * the restored files, read back sorted, reach mmdebstrap in the same order, under their own
 * names (mmdebstrap names the root's copy after the file: the root's bytes depend on it).
 */
export function bundledSourcesName(index: number, file: string): string {
  return `${String(index).padStart(2, '0')}/${basename(file)}`;
}

/** The restored sources files in the first build's order (a bundle of one file may hold it without a folder). */
async function restoredSourcesFiles(dir: string): Promise<string[]> {
  const top = join(dir, 'apt/sources');
  const out: string[] = [];
  for (const entry of (await readdir(top, { withFileTypes: true }).catch(() => [])).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )) {
    if (entry.isFile()) out.push(join(top, entry.name));
    else if (entry.isDirectory())
      for (const name of (await readdir(join(top, entry.name))).sort()) out.push(join(top, entry.name, name));
  }
  return out;
}

/** A fetched package's file in the archives: the one the stage recorded, else the only one of its name. */
export async function findFetchedDeb(archives: string, p: FetchedPackage, bundle: string): Promise<string> {
  const names = p.file
    ? [p.file]
    : (await readdir(archives).catch(() => [] as string[])).filter(
        (n) => n.startsWith(`${p.name}_`) && n.endsWith('.deb'),
      );
  if (names.length === 1 && (await exists(join(archives, names[0]!)))) return join(archives, names[0]!);
  throw new BundleError(
    `the package cache (${archives}) has ${names.length > 1 ? `several .deb of ${p.name} (${names.join(', ')}) and the build recorded none of them` : `no ${p.file ?? `.deb of ${p.name}`}`}: ` +
      'rebuild with --no-cache so that the stage fetches it again, then bundle',
    { bundle },
  );
}

/**
 * What an apt build needs to run again with no network: every sources file mmdebstrap got, in
 * its order, the keyrings their entries are signed by, the package cache's lists of those
 * suites (InRelease with its signature, Packages), the `.deb` of every installed package and
 * the `.deb` files stages fetched beside the roots (the kernel's source package; the same
 * sources and lists vouch for them).
 */
export async function collectAptBundle(
  ctx: PmContext,
  installed: readonly InstalledPackage[],
  fetched: readonly FetchedPackage[] = [],
): Promise<BundleParts> {
  const bundle = ctx.spec.repoDir;
  const sources = await aimedAptSources(ctx.spec, join(ctx.tmpDir, 'sources'));
  const files: { name: string; from: string }[] = [];
  const entries: SourceEntry[] = [];
  for (const [i, file] of sources.files.entries()) {
    files.push({ name: `apt/sources/${bundledSourcesName(i, file)}`, from: file });
    entries.push(...parseSourceEntries(await readFile(file, 'utf8')));
  }
  const keys = new Map<string, string>();
  for (const key of new Set(entries.flatMap((e) => (e.signedBy ? [e.signedBy] : [])))) {
    const other = keys.get(basename(key));
    if (other)
      throw new BundleError(
        `two keyrings of the sources have one name (${other}, ${key}): the bundle keeps keyrings by name`,
        { bundle },
      );
    keys.set(basename(key), key);
    files.push({ name: `apt/keys/${basename(key)}`, from: key });
  }
  const lists = join(ctx.pkgCacheDir, APT_CACHE_DIRS[1].inCache);
  const prefixes = entries.flatMap((e) => e.suites.map((s) => listPrefix(e.uri, s)));
  for (const name of (await readdir(lists).catch(() => [] as string[])).sort())
    if (
      prefixes.some((p) => name.startsWith(p)) &&
      (name.endsWith('_InRelease') || name.endsWith('_Packages'))
    )
      files.push({ name: `apt/lists/${name}`, from: join(lists, name) });
  const archives = join(ctx.pkgCacheDir, APT_CACHE_DIRS[0].inCache);
  const missing: string[] = [];
  const debs = new Set<string>();
  for (const p of installed) {
    const deb = await findDeb(archives, p);
    if (deb) debs.add(deb);
    else missing.push(packageKey(p));
  }
  if (missing.length)
    throw new BundleError(
      `the package cache (${archives}) has no .deb for ${missing.join(', ')}: ` +
        'rebuild with --no-cache so that apt downloads them again, then bundle',
      { bundle },
    );
  for (const p of fetched) debs.add(await findFetchedDeb(archives, p, bundle));
  for (const deb of debs) files.push({ name: `apt/archives/${basename(deb)}`, from: deb });
  return { files };
}

/**
 * Every package of the bundle's lock has its `.deb` in the bundle: a bundle rewritten without one
 * (its manifest and digests consistent) is refused here, naming the file, not by apt's failed
 * download halfway through the rebuild.
 */
async function checkLockedDebs(dir: string, bundle: string): Promise<void> {
  let lock: { packages?: InstalledPackage[] };
  try {
    lock = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as typeof lock;
  } catch (err) {
    throw new BundleError(
      `cannot read it: ${(err as Error).message}`,
      { bundle, file: LOCK_FILE },
      { cause: err },
    );
  }
  const archives = join(dir, APT_CACHE_DIRS[0].inCache);
  for (const p of lock.packages ?? [])
    if (!(await findDeb(archives, p)))
      throw new BundleError(`the lock names ${packageKey(p)} and the bundle has no .deb of it`, {
        bundle,
        file: `${APT_CACHE_DIRS[0].inCache}/${p.name}_${p.version.replace(':', '%3a')}_${p.arch}.deb`,
      });
}

/** The SHA256 lines of an InRelease: `path` → sha256. */
function releaseHashes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const section = /^SHA256:\n((?:[ \t].*\n?)*)/m.exec(text)?.[1] ?? '';
  for (const line of section.split('\n')) {
    const [sha, , path] = line.trim().split(/\s+/);
    if (sha && path) out.set(path, sha);
  }
  return out;
}

/**
 * Checks the bundled lists as apt would (each InRelease signed by a bundled keyring, each
 * Packages list with the sha256 its InRelease gives) and puts them and the `.deb` files into a
 * fresh package cache, stamped as just fetched for the bundled sources: the build then asks no
 * mirror for lists, and apt finds every package it installs already downloaded (and checks it
 * against the lists).
 */
export async function restoreAptBundle(
  ctx: Pick<PmContext, 'pkgCacheDir' | 'run'>,
  dir: string,
  bundle: string,
): Promise<RestoredBundle> {
  await checkLockedDebs(dir, bundle);
  const sourcesFiles = await restoredSourcesFiles(dir);
  if (!sourcesFiles.length)
    throw new BundleError('has no apt sources file', { bundle, file: 'apt/sources/' });
  // The build gets them as one variable, split at the delimiter: a path holding it would be cut.
  if (dir.includes(delimiter))
    throw new BundleError(
      `cannot be unpacked under ${dir}: the path holds "${delimiter}", which separates ${APT_SOURCES_ENV}'s files (set TMPDIR to another folder)`,
      { bundle },
    );
  const keys = (await readdir(join(dir, 'apt/keys')).catch(() => [] as string[])).map((k) =>
    join(dir, 'apt/keys', k),
  );
  const listsDir = join(dir, 'apt/lists');
  const names = await readdir(listsDir).catch(() => [] as string[]);
  const releases = names.filter((n) => n.endsWith('_InRelease'));
  if (!releases.length) throw new BundleError('has no InRelease lists', { bundle, file: 'apt/lists/' });
  const hashes = new Map<string, Map<string, string>>();
  for (const name of releases) {
    const file = join(listsDir, name);
    const res = await ctx.run('gpgv', [...keys.flatMap((k) => ['--keyring', k]), file], {
      allowFailure: true,
    });
    if (res.exitCode !== 0)
      throw new BundleError(`its signature does not verify with the bundled keys: ${res.all.trim()}`, {
        bundle,
        file: `apt/lists/${name}`,
      });
    hashes.set(name.slice(0, -'InRelease'.length), releaseHashes(await readFile(file, 'utf8')));
  }
  for (const name of names.filter((n) => n.endsWith('_Packages'))) {
    const release = [...hashes.keys()].find((p) => name.startsWith(p));
    const path = release && name.slice(release.length).replaceAll('_', '/');
    const listed = release && path ? hashes.get(release)?.get(path) : undefined;
    if (!listed || listed !== (await sha256File(join(listsDir, name))))
      throw new BundleError('is not the list its InRelease names (sha256 differs or not listed)', {
        bundle,
        file: `apt/lists/${name}`,
      });
  }
  for (const { inCache } of APT_CACHE_DIRS) {
    const from = join(dir, inCache);
    const to = join(ctx.pkgCacheDir, inCache);
    await mkdir(to, { recursive: true });
    for (const name of await readdir(from).catch(() => [] as string[]))
      await copyFile(join(from, name), join(to, name));
  }
  await stampLists(join(ctx.pkgCacheDir, 'apt', 'lists.stamp.json'), await digestSources(sourcesFiles));
  return { env: { [APT_SOURCES_ENV]: sourcesFiles.join(delimiter) } };
}
