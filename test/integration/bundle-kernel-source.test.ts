import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { primeFromBundle, type PrimedBundle } from '../../src/build/from-bundle.js';
import { BUNDLE_VERSION, type BundleConfig } from '../../src/bundle/bundle-config.js';
import { writeBundle, type BundleFile } from '../../src/bundle/bundle-layout.js';
import { fetchedPackagesOf, kernelSourceRecord } from '../../src/bundle/kernel-source.js';
import { cacheLayout } from '../../src/cache/cache.js';
import { withPackageCache } from '../../src/cache/package-cache.js';
import { BundleError } from '../../src/errors.js';
import { run } from '../../src/exec/run.js';
import { sha256File } from '../../src/fs/hash.js';
import { collectAptBundle } from '../../src/pm/apt-bundle.js';
import { fetchAptDebs } from '../../src/pm/apt-fetch.js';
import { APT_SOURCES_ENV, envSourcesFiles } from '../../src/pm/apt-sources.js';
import { packageManagerFor } from '../../src/pm/index.js';
import { standalonePmContext } from '../../src/pm/pm-context.js';
import type { PmContext } from '../../src/pm/types.js';
import { loadRepo } from '../../src/spec/load.js';
import type { ResolvedSpec } from '../../src/spec/types.js';
import { VERSION } from '../../src/version.js';
import { recordingLogger } from '../helpers/stage-context.js';
import { sharedStageCache } from '../helpers/test-cache.js';

/**
 * The kernel source of a repo whose kernel is built from linux-source-6.1 (debian-12-microvm),
 * through a real bundle and a real offline priming. The kernel build itself is skipped (10–50
 * minutes here): the kernel stage's record of its source (meta.kernelSource) is written as the
 * stage writes it, for a real .deb fetched from the host's Debian mirror into the shared test
 * cache's package cache; the bundle's outputs hold a placeholder digest, since nothing is rebuilt.
 * The offline check runs the kernel stage's own fetch (the apt adapter's downloadKernel) with
 * every command it runs in a network namespace of its own with no network (unshare -n).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE = 'linux-source-6.1';
const logger = recordingLogger();

let dir: string;
let spec: ResolvedSpec;
let deb: string;
let bundle: string;
let files: BundleFile[];
let config: BundleConfig;

function pmContext(pkgCacheDir: string, rootfs: string, tmpDir: string): PmContext {
  return standalonePmContext({ spec, rootfs, pkgCacheDir, tmpDir, stage: 'kernel', logger });
}

/** A root as apt sees it after mmdebstrap, for the kernel stage's fetch: the sources files and an empty status. */
async function aptRoot(root: string, sources: readonly string[]): Promise<string> {
  await mkdir(join(root, 'etc/apt/sources.list.d'), { recursive: true });
  await mkdir(join(root, 'var/lib/dpkg'), { recursive: true });
  await writeFile(join(root, 'var/lib/dpkg/status'), '');
  for (const f of sources) await cp(f, join(root, 'etc/apt/sources.list.d', basename(f)));
  return root;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-bundle-ksrc-'));
  await cp(join(ROOT, 'repos', 'debian-12-microvm'), join(dir, 'repos', 'debian-12-microvm'), {
    recursive: true,
  });
  spec = await loadRepo(join(dir, 'repos', 'debian-12-microvm'), join(dir, 'repos'));
  const pkgCacheDir = cacheLayout(sharedStageCache()).packages;
  const ctx = pmContext(pkgCacheDir, join(dir, 'no-root'), join(dir, 'tmp-fetch'));
  // The real .deb, fetched (or found, matching the lists) as the stages fetch single packages.
  deb = (await withPackageCache(ctx, () => fetchAptDebs(ctx, [SOURCE])))[0]!;
  const fetched = fetchedPackagesOf(spec, true, {
    kernelSource: { kind: 'package', file: basename(deb), sha256: await sha256File(deb) },
  });
  const parts = await withPackageCache(ctx, () =>
    collectAptBundle(pmContext(pkgCacheDir, join(dir, 'no-root'), join(dir, 'tmp-collect')), [], fetched),
  );
  const lock = join(dir, 'isobuild.lock');
  await writeFile(lock, JSON.stringify({ packages: [] }));
  files = [
    { name: 'repo/repo-spec.json', from: join(spec.repoDir, 'repo-spec.json') },
    { name: 'isobuild.lock', from: lock },
    ...parts.files,
  ];
  const kernelSource = await kernelSourceRecord(spec, true, fetched, parts.files);
  config = {
    bundleVersion: BUNDLE_VERSION,
    isobuild: VERSION,
    repo: spec.name,
    repoFolder: 'debian-12-microvm',
    packagemanager: 'apt',
    target: 'firecracker',
    sourceDateEpoch: 0,
    outputs: [{ format: 'firecracker', name: 'placeholder', size: 0, sha256: '0'.repeat(64) }],
    ...(kernelSource ? { kernelSource } : {}),
  };
  bundle = join(dir, 'ksrc.tar');
  await writeBundle(bundle, files, config, { tag: 't', sourceDateEpoch: 0 });
}, 1_800_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('bundle of a repo whose kernel is built from linux-source-6.1 (kernel build skipped)', () => {
  test("the bundle stores linux-source's .deb with its digest, and the config names it", async () => {
    const name = `apt/archives/${basename(deb)}`;
    expect(basename(deb)).toMatch(/^linux-source-6\.1_[^_]+_all\.deb$/);
    expect(files.map((f) => f.name)).toContain(name);
    expect(config.kernelSource).toEqual({ name, sha256: await sha256File(deb) });
    // The lists that vouch for it: the bookworm InRelease and its Packages list.
    expect(files.some((f) => /^apt\/lists\/.*_dists_bookworm_InRelease$/.test(f.name))).toBe(true);
    expect(files.some((f) => /^apt\/lists\/.*_dists_bookworm_main_binary-amd64_Packages$/.test(f.name))).toBe(
      true,
    );
    // In the bundle's own manifest, as a layer with that digest.
    const layout = join(dir, 'layout');
    await mkdir(layout);
    await run('tar', ['-xf', bundle, '-C', layout]);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const blob = (d: string) => join(layout, 'blobs/sha256', d.slice('sha256:'.length));
    const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as {
      layers: { digest: string; annotations: Record<string, string> }[];
    };
    const layer = manifest.layers.find((l) => l.annotations['org.opencontainers.image.title'] === name);
    expect(layer?.digest).toBe(`sha256:${await sha256File(deb)}`);
  });

  describe('the offline priming', () => {
    let work: string;
    let primed: PrimedBundle;

    beforeAll(async () => {
      work = await mkdtemp(join(dir, 'prime-'));
      primed = await primeFromBundle(bundle, work, logger);
    }, 600_000);

    test("puts it where the kernel stage's fetch finds it with no network", async () => {
      const archives = join(cacheLayout(primed.cache).packages, 'apt/archives');
      expect(await readdir(archives)).toContain(basename(deb));
      const sources = envSourcesFiles(primed.env[APT_SOURCES_ENV]);
      expect(sources.length).toBeGreaterThan(0);
      const root = await aptRoot(join(work, 'root'), sources);
      const ctx = pmContext(cacheLayout(primed.cache).packages, root, join(work, 'tmp'));
      await mkdir(ctx.tmpDir, { recursive: true });
      const offline: PmContext = {
        ...ctx,
        run: (file, args, opts) => ctx.run('unshare', ['-n', '--', file, ...args], opts),
      };
      const got = await packageManagerFor('apt').downloadKernel!(offline, SOURCE);
      expect(got.map((f) => basename(f.path))).toEqual([basename(deb)]);
      expect(await sha256File(got[0]!.path)).toBe(await sha256File(deb));
    }, 300_000);

    test('a bundle rewritten without it (its manifest consistent) is refused naming the file', async () => {
      const without = join(dir, 'without.tar');
      const name = `apt/archives/${basename(deb)}`;
      await writeBundle(
        without,
        files.filter((f) => f.name !== name),
        config,
        { tag: 't', sourceDateEpoch: 0 },
      );
      const err = await primeFromBundle(without, await mkdtemp(join(dir, 'prime-')), logger).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BundleError);
      expect((err as BundleError).details).toMatchObject({ bundle: without, file: name });
      expect((err as Error).message).toContain('lacks it');
    }, 600_000);
  });
});
