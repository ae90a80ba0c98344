import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { BundleError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { sha256File } from '../fs/hash.js';
import { copyTree } from '../fs/fs-tree.js';
import { packageKey, type InstalledPackage } from '../inventory/types.js';
import { LOCK_FILE, readLock } from '../lock/lock-file.js';
import { rpmCacheDir } from './rpm-cache-dir.js';
import { RPM_BUNDLE_ENV } from './rpm-bundle-repos.js';
import { findRpmFiles, rpmFileName } from './rpm-inventory.js';
import { parseRepoFile, type RepoSection } from './rpm-repo-files.js';
import { parseRepomd, primaryLocations, readMetadata, repomdDigest } from './rpm-repodata.js';
import type { BundleParts, PmContext, RestoredBundle } from './types.js';

/*
 * An RPM build's part of a bundle (docs/bundle.md), under rpm/:
 *   repos/<id>/repodata/repomd.xml (+ repomd.xml.asc) and the metadata files it lists that the
 *     build had: the repository's own, byte for byte, so its signature and digests still hold;
 *   repos/<id>/<location> of every installed package, where primary.xml says it is;
 *   keys/: the repo folder's keys and the file:// gpgkey= the .repo files name.
 */

const isOn = (v: string | undefined) => v === undefined || /^(1|yes|true|on)$/i.test(v);

/** The enabled sections of the repo's .repo files, each with the file it is in. */
async function enabledSections(spec: PmContext['spec']): Promise<{ file: string; section: RepoSection }[]> {
  const out: { file: string; section: RepoSection }[] = [];
  for (const file of spec.repoFiles)
    for (const section of parseRepoFile(await readFile(file, 'utf8')))
      if (isOn(section.options.enabled)) out.push({ file, section });
  return out;
}

/**
 * The folder holding a repository's repodata/ as the build read it: a file:// baseurl's own
 * folder, else the front end's copy in the package cache (dnf's `<id>-<hash>/`, tdnf's `<id>/`).
 */
async function findRepoBase(ctx: PmContext, section: RepoSection): Promise<string | undefined> {
  const url = section.options.baseurl?.split(/[\s,]+/)[0];
  if (url?.startsWith('file://')) {
    const path = decodeURIComponent(url.slice('file://'.length));
    if (await exists(join(path, 'repodata', 'repomd.xml'))) return path;
  }
  const cache = await rpmCacheDir(ctx);
  const named = new RegExp(`^${section.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(-[0-9a-f]{16})?$`);
  const entries = await readdir(cache, { recursive: true, withFileTypes: true }).catch(() => []);
  const found = entries
    .filter((e) => e.isFile() && e.name === 'repomd.xml' && basename(e.parentPath) === 'repodata')
    .map((e) => dirname(e.parentPath))
    .filter((base) => named.test(basename(base)))
    .sort();
  return found[0];
}

interface BundledRepo {
  readonly id: string;
  readonly base: string;
  /** Package file name → its location below base. */
  readonly locations: Map<string, string>;
}

/** A repository's metadata as bundle entries, and where its packages are. */
async function collectRepodata(
  ctx: PmContext,
  file: string,
  section: RepoSection,
  files: { name: string; from: string }[],
): Promise<BundledRepo> {
  const where = `${basename(file)} [${section.id}]`;
  const base = await findRepoBase(ctx, section);
  if (!base)
    throw new BundleError(
      `${where}: the package cache has no repodata/repomd.xml of this repository: build it (isobuild build) and bundle again`,
      { bundle: ctx.spec.repoDir },
    );
  const prefix = `rpm/repos/${section.id}`;
  const repomd = join(base, 'repodata', 'repomd.xml');
  files.push({ name: `${prefix}/repodata/repomd.xml`, from: repomd });
  if (await exists(`${repomd}.asc`))
    files.push({ name: `${prefix}/repodata/repomd.xml.asc`, from: `${repomd}.asc` });
  let locations = new Map<string, string>();
  for (const entry of parseRepomd(await readFile(repomd, 'utf8'))) {
    const path = join(base, entry.href);
    // dnf fetches only the metadata it reads (primary, filelists...): those are what the rebuild needs.
    if (!(await exists(path))) continue;
    files.push({ name: `${prefix}/${entry.href}`, from: path });
    if (entry.type === 'primary') locations = primaryLocations(await readMetadata(path, ctx.run));
  }
  if (!locations.size)
    throw new BundleError(`${where}: ${repomd} names no primary metadata the build has`, {
      bundle: ctx.spec.repoDir,
    });
  return { id: section.id, base, locations };
}

/**
 * What an RPM build needs to run again with no network: each enabled repository's signed
 * metadata as the build read it, every installed package's .rpm (checked against the digest the
 * lock records) at its place in that repository, and the keys. The .repo files and the spec
 * travel in the repo folder, unchanged.
 */
export async function collectRpmBundle(
  ctx: PmContext,
  installed: readonly InstalledPackage[],
): Promise<BundleParts> {
  const bundle = ctx.spec.repoDir;
  const outside = ctx.spec.repoFiles.filter((f) => relative(ctx.spec.repoDir, f).startsWith('..'));
  if (outside.length)
    throw new BundleError(
      `the .repo files ${outside.join(', ')} are the build host's, not the repo folder's: ` +
        'copy them into the repo folder so the bundle carries them, then bundle',
      { bundle },
    );
  const files: { name: string; from: string }[] = [];
  const repos: BundledRepo[] = [];
  const keys = new Set(ctx.spec.gpgKeys);
  for (const { file, section } of await enabledSections(ctx.spec)) {
    repos.push(await collectRepodata(ctx, file, section, files));
    for (const url of (section.options.gpgkey ?? '').split(/[\s,]+/))
      if (url.startsWith('file://') && (await exists(decodeURIComponent(url.slice(7)))))
        keys.add(decodeURIComponent(url.slice(7)));
  }
  for (const key of keys) files.push({ name: `rpm/keys/${basename(key)}`, from: key });
  const cached = await findRpmFiles(await rpmCacheDir(ctx), () => '');
  const missing: string[] = [];
  for (const p of installed) {
    const name = rpmFileName(p);
    // The repository it came from first; any that lists it otherwise (the lock's origin may be a cache folder's name).
    const repo = [...repos]
      .sort((a, b) => Number(b.id === p.origin) - Number(a.id === p.origin))
      .find((r) => r.locations.has(name));
    const href = repo?.locations.get(name);
    const inRepo = repo && href && join(repo.base, href);
    const from = inRepo && (await exists(inRepo)) ? inRepo : cached.get(name)?.[0];
    if (!repo || !href || !from) {
      missing.push(packageKey(p));
      continue;
    }
    if (p.sha256 && (await sha256File(from)) !== p.sha256)
      throw new BundleError(`${from} is not the package the build installed (its sha256 differs)`, {
        bundle,
      });
    files.push({ name: `rpm/repos/${repo.id}/${href}`, from });
  }
  if (missing.length)
    throw new BundleError(
      `no .rpm in the repositories' metadata and the package cache for ${missing.join(', ')}: ` +
        'rebuild with --no-cache so that the packages are downloaded again, then bundle',
      { bundle },
    );
  return { files };
}

/**
 * The binary packets of an OpenPGP armoured block (RFC 4880 6.2: headers up to a blank line, then
 * base64 up to the `=` checksum line), as gpgv takes keyrings; undefined for a file not armoured.
 */
export function dearmor(text: string): Buffer | undefined {
  const block = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/.exec(
    text,
  );
  if (!block) return undefined;
  const lines = block[1]!.split(/\r?\n/);
  const body = lines.slice(lines.findIndex((l) => l.trim() === '') + 1);
  return Buffer.from(body.filter((l) => !l.startsWith('=')).join(''), 'base64');
}

/** One keyring gpgv reads, made of the bundled keys (armoured ones dearmoured). */
async function bundledKeyring(keysDir: string, scratch: string): Promise<string> {
  const parts: Buffer[] = [];
  for (const name of (await readdir(keysDir).catch(() => [] as string[])).sort()) {
    const bytes = await readFile(join(keysDir, name));
    parts.push(dearmor(bytes.toString('latin1')) ?? bytes);
  }
  const keyring = join(scratch, 'keyring.gpg');
  await writeFile(keyring, Buffer.concat(parts));
  return keyring;
}

/**
 * Checks one bundled repository as dnf would before trusting it: repomd.xml's signature when
 * the repository had one, and each metadata file's digest as repomd.xml gives it.
 */
async function checkRepodata(
  ctx: Pick<PmContext, 'run'>,
  repoDir: string,
  id: string,
  keyring: () => Promise<string>,
  bundle: string,
): Promise<Map<string, string>> {
  const prefix = `rpm/repos/${id}`;
  const repomd = join(repoDir, 'repodata', 'repomd.xml');
  if (!(await exists(repomd)))
    throw new BundleError('missing: the repository has no repomd.xml', {
      bundle,
      file: `${prefix}/repodata/repomd.xml`,
    });
  if (await exists(`${repomd}.asc`)) {
    const res = await ctx.run('gpgv', ['--keyring', await keyring(), `${repomd}.asc`, repomd], {
      allowFailure: true,
    });
    if (res.exitCode !== 0)
      throw new BundleError(`its signature does not verify with the bundled keys: ${res.all.trim()}`, {
        bundle,
        file: `${prefix}/repodata/repomd.xml`,
      });
  }
  let locations: Map<string, string> | undefined;
  for (const entry of parseRepomd(await readFile(repomd, 'utf8'))) {
    const path = join(repoDir, entry.href);
    if (!(await exists(path))) {
      if (entry.type === 'primary')
        throw new BundleError('missing: repomd.xml lists it and dnf needs it', {
          bundle,
          file: `${prefix}/${entry.href}`,
        });
      continue;
    }
    if ((await repomdDigest(path, entry.checksumType)) !== entry.checksum)
      throw new BundleError(`is not the file repomd.xml names (its ${entry.checksumType} differs)`, {
        bundle,
        file: `${prefix}/${entry.href}`,
      });
    if (entry.type === 'primary') locations = primaryLocations(await readMetadata(path, ctx.run));
  }
  return locations ?? new Map();
}

/**
 * Checks the bundled repositories (repomd.xml signatures, metadata digests), that every package
 * of the lock is there with the lock's sha256, and puts them into the fresh package cache. The
 * rebuild's front end reads them from there in place of the .repo files' baseurls
 * (ISOBUILD_RPM_BUNDLE); it checks each package's signature itself where the .repo says gpgcheck.
 */
export async function restoreRpmBundle(
  ctx: Pick<PmContext, 'pkgCacheDir' | 'run'>,
  dir: string,
  bundle: string,
): Promise<RestoredBundle> {
  const lock = await readLock(join(dir, LOCK_FILE)).catch((err: unknown) => {
    throw new BundleError(
      `cannot read it: ${(err as Error).message}`,
      { bundle, file: LOCK_FILE },
      { cause: err },
    );
  });
  if (!lock) throw new BundleError('missing', { bundle, file: LOCK_FILE });
  const reposDir = join(dir, 'rpm', 'repos');
  const ids = (await readdir(reposDir).catch(() => [] as string[])).sort();
  if (!ids.length) throw new BundleError('has no RPM repositories', { bundle, file: 'rpm/repos/' });
  const scratch = join(dir, '.rpm-check');
  await mkdir(scratch, { recursive: true });
  let keyring: Promise<string> | undefined;
  const once = () => (keyring ??= bundledKeyring(join(dir, 'rpm', 'keys'), scratch));
  const locations = new Map<string, Map<string, string>>();
  for (const id of ids) locations.set(id, await checkRepodata(ctx, join(reposDir, id), id, once, bundle));
  for (const p of lock.packages) {
    const name = rpmFileName(p);
    const id = ids.find((i) => locations.get(i)!.has(name));
    const file = id ? `rpm/repos/${id}/${locations.get(id)!.get(name)!}` : `rpm/repos/${ids[0]}/${name}`;
    if (!id || !(await exists(join(dir, file))))
      throw new BundleError(`missing: the lock names ${packageKey(p)} and the bundle has no .rpm of it`, {
        bundle,
        file,
      });
    if ((await sha256File(join(dir, file))) !== p.sha256)
      throw new BundleError(`is not the package the lock names (its sha256 differs from ${p.sha256})`, {
        bundle,
        file,
      });
  }
  const restored = join(ctx.pkgCacheDir, 'rpm-bundle');
  await mkdir(ctx.pkgCacheDir, { recursive: true });
  await copyTree(join(dir, 'rpm'), restored);
  return { env: { [RPM_BUNDLE_ENV]: restored } };
}
