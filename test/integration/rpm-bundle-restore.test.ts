import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleError } from '../../src/errors.js';
import { run } from '../../src/exec/run.js';
import { sha256File } from '../../src/fs/hash.js';
import { restoreRpmBundle } from '../../src/pm/rpm-bundle.js';
import { RPM_BUNDLE_ENV } from '../../src/pm/rpm-bundle-repos.js';
import { buildOfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeSignedRepo, type SignedRepo } from '../helpers/rpm-repo/signed-repo.js';

/**
 * What build --from-bundle checks in an RPM bundle before the rebuild runs, with the real gpgv
 * and gpg: a repository whose repomd.xml is signed (repomd.xml.asc, by a throwaway key) and two
 * rpmsign'ed packages, laid out as `isobuild bundle` writes them (rpm/repos/<id>/, rpm/keys/,
 * isobuild.lock). The bundle's blob digests are checked before this (bundle-rpm.test.ts); these
 * are the checks a bundle rewritten with consistent digests still meets.
 */
const PACKAGES = ['filesystem', 'toybox'];
const BUNDLE = '/bundles/signed.tar';

let signed: SignedRepo;
let dir: string;

/** A fresh bundle folder: the signed repository as bundle entry `rpm/repos/signed`, its key, a lock of its packages. */
async function bundleDir(): Promise<string> {
  const files = await mkdtemp(join(dir, 'files-'));
  await cp(signed.dir, join(files, 'rpm/repos/signed'), { recursive: true });
  await mkdir(join(files, 'rpm/keys'));
  await cp(signed.publicKey, join(files, 'rpm/keys/RPM-GPG-KEY-isobuild-test'));
  const packages = [];
  for (const f of (await readdir(signed.dir)).filter((n) => n.endsWith('.rpm')).sort()) {
    const [, name, version, arch] = /^(.+)-([^-]+-[^-]+)\.([^.]+)\.rpm$/.exec(f)!;
    packages.push({ name, version, arch, sha256: await sha256File(join(signed.dir, f)) });
  }
  await writeLock(files, packages);
  return files;
}

async function writeLock(files: string, packages: unknown[]): Promise<void> {
  const lock = {
    lockVersion: 1,
    repo: 'offline-1.0',
    packagemanager: 'dnf',
    release: '1.0',
    specDigest: 'x',
    packages,
  };
  await writeFile(join(files, 'isobuild.lock'), JSON.stringify(lock));
}

const restore = (files: string) =>
  restoreRpmBundle({ pkgCacheDir: join(files, '..', `cache-${files.slice(-6)}`), run }, files, BUNDLE);

async function expectRefused(files: string, file: string, words: string): Promise<void> {
  const err = await restore(files).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BundleError);
  expect((err as BundleError).details).toEqual({ bundle: BUNDLE, file });
  expect((err as BundleError).message).toContain(words);
}

beforeAll(async () => {
  signed = await makeSignedRepo(await buildOfflineRpmRepo(), PACKAGES, { signRepomd: true });
  dir = await mkdtemp(join(tmpdir(), 'isobuild-rpm-bundle-restore-'));
}, 900_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await signed?.cleanup();
});

describe('restoring an RPM bundle', () => {
  test('a signed repository and the lock’s packages: restored into the package cache, named for the rebuild', async () => {
    const files = await bundleDir();
    const { env } = await restore(files);
    const restored = env[RPM_BUNDLE_ENV]!;
    expect(restored).toMatch(/rpm-bundle$/);
    expect(await readFile(join(restored, 'repos/signed/repodata/repomd.xml'), 'utf8')).toBe(
      await readFile(join(signed.dir, 'repodata/repomd.xml'), 'utf8'),
    );
    expect((await readdir(join(restored, 'repos/signed'))).filter((n) => n.endsWith('.rpm'))).toHaveLength(2);
  });

  test('repomd.xml changed after signing: its signature does not verify', async () => {
    const files = await bundleDir();
    const repomd = join(files, 'rpm/repos/signed/repodata/repomd.xml');
    await writeFile(repomd, (await readFile(repomd, 'utf8')).replace('<revision>', '<revision>1'));
    await expectRefused(files, 'rpm/repos/signed/repodata/repomd.xml', 'signature does not verify');
  });

  test('the signing key missing from the bundle: the signature does not verify', async () => {
    const files = await bundleDir();
    await rm(join(files, 'rpm/keys'), { recursive: true });
    await expectRefused(files, 'rpm/repos/signed/repodata/repomd.xml', 'signature does not verify');
  });

  test('a metadata file changed: repomd.xml names another digest', async () => {
    const files = await bundleDir();
    const repodata = join(files, 'rpm/repos/signed/repodata');
    const primary = (await readdir(repodata)).find((n) => n.endsWith('-primary.xml.gz'))!;
    const bytes = await readFile(join(repodata, primary));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(join(repodata, primary), bytes);
    await expectRefused(files, `rpm/repos/signed/repodata/${primary}`, 'is not the file repomd.xml names');
  });

  test('an .rpm the lock names but the bundle lacks, and one that is not the locked package', async () => {
    const files = await bundleDir();
    const toybox = (await readdir(join(files, 'rpm/repos/signed'))).find((n) => n.startsWith('toybox-'))!;
    const lock = JSON.parse(await readFile(join(files, 'isobuild.lock'), 'utf8')) as {
      packages: { name: string; sha256: string }[];
    };
    await writeLock(
      files,
      lock.packages.map((p) => (p.name === 'toybox' ? { ...p, sha256: '0'.repeat(64) } : p)),
    );
    await expectRefused(files, `rpm/repos/signed/${toybox}`, 'is not the package the lock names');
    await writeLock(files, lock.packages);
    await rm(join(files, 'rpm/repos/signed', toybox));
    await expectRefused(files, `rpm/repos/signed/${toybox}`, 'missing: the lock names toybox 1.0-1 noarch');
  });
});
