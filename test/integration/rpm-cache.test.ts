import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { dnfPackageManager } from '../../src/pm/dnf.js';
import { buildOfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';
import { makePmContext } from '../helpers/rpm-repo/pm-context.js';
import { serveDir, type ServedDir } from '../helpers/rpm-repo/serve-dir.js';

/**
 * The persistent package cache: a second cold build (fresh root, same cache) downloads
 * nothing. The repository is served over HTTP, because dnf reads file:// repositories in
 * place; the second build runs with the server shut down.
 */
const PACKAGES = ['filesystem', 'bash', 'busybox', 'util-linux', 'toybox'];
/** Pulled in by util-linux. */
const DEPENDENCIES = ['glibc'];

async function queryInstalled(root: string): Promise<string[]> {
  const res = await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\n']);
  return res.stdout.split('\n').filter(Boolean).sort();
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(e.name);
  return out.sort();
}

/** One cold build: a fresh root, base packages and the kernel, then clean, as iso-base does. */
async function coldBuild(fixture: FixtureRepo, pkgCacheDir: string) {
  const t = await makePmContext(fixture.spec, { pkgCacheDir });
  try {
    await dnfPackageManager.setup(t.ctx, PACKAGES);
    await dnfPackageManager.install(t.ctx, ['linux']);
    await dnfPackageManager.clean(t.ctx);
    const db = await readFile(join(t.ctx.rootfs, 'var/lib/rpm/rpmdb.sqlite'));
    // Listed before rpm -qa below, which opens the database again.
    const rpmDir = (await readdir(join(t.ctx.rootfs, 'var/lib/rpm'))).sort();
    return {
      installed: await queryInstalled(t.ctx.rootfs),
      output: t.logger.outputText(),
      dbHash: createHash('sha256').update(db).digest('hex'),
      varLib: (await readdir(join(t.ctx.rootfs, 'var/lib'))).sort(),
      rpmDir,
    };
  } finally {
    await t.cleanup();
  }
}

describe('the dnf adapter’s persistent package cache', () => {
  let server: ServedDir | undefined;
  let fixture: FixtureRepo;
  let cacheParent: string;
  let first: Awaited<ReturnType<typeof coldBuild>>;
  let second: Awaited<ReturnType<typeof coldBuild>>;
  let firstRequests: string[];
  let cached: string[];

  beforeAll(async () => {
    const repo = await buildOfflineRpmRepo();
    server = await serveDir(repo.dir);
    fixture = await makeFixtureRepo({ packagemanager: 'dnf', baseurl: server.url });
    cacheParent = await mkdtemp(join(tmpdir(), 'isobuild-rpm-cache-'));
    const pkgCacheDir = join(cacheParent, 'packages');
    first = await coldBuild(fixture, pkgCacheDir);
    firstRequests = [...server.requests];
    await server.close();
    server = undefined;
    cached = await listFiles(pkgCacheDir);
    second = await coldBuild(fixture, pkgCacheDir);
  }, 600_000);

  afterAll(async () => {
    await server?.close();
    await fixture?.cleanup();
    if (cacheParent) await rm(cacheParent, { recursive: true, force: true });
  });

  test('the first build downloads every package into the cache outside the root', () => {
    const rpms = firstRequests.filter((p) => p.endsWith('.rpm')).map((p) => p.replace(/^\//, ''));
    expect(rpms.map((f) => f.replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, '')).sort()).toEqual(
      [...PACKAGES, ...DEPENDENCIES, 'linux'].sort(),
    );
    // keepcache=1: clean left the downloads where the next build finds them.
    expect(cached.filter((f) => f.endsWith('.rpm')).sort()).toEqual(rpms.sort());
    expect(first.installed).toEqual([...PACKAGES, ...DEPENDENCIES, 'linux'].sort());
  });

  test('a second cold build with the repository unreachable installs the same packages from the cache', () => {
    expect(second.installed).toEqual(first.installed);
    // dnf's own account: every package skipped as already downloaded, none fetched.
    const skipped = (out: string) =>
      [...out.matchAll(/\[SKIPPED\] (\S+)\.rpm: Already downloaded/g)].map((m) => m[1]);
    expect(skipped(first.output)).toEqual([]);
    expect(skipped(second.output).length).toBe(PACKAGES.length + DEPENDENCIES.length + 1);
  });

  test('the same SOURCE_DATE_EPOCH gives the same rpm database, and no dnf history in the root', () => {
    expect(second.dbHash).toBe(first.dbHash);
    expect(first.varLib).toEqual(['rpm']);
    // clean dropped sqlite's empty write-ahead log and its index, which differ run to run.
    expect(first.rpmDir).toEqual(['.rpm.lock', 'rpmdb.sqlite']);
  });
});
