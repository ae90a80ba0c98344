import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { eventsOfType } from '../helpers/json-events.js';
import { buildOfflineRpmRepo, type OfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';

/**
 * isobuild bundle and build --from-bundle on the RPM path, through the real CLI and dnf: the
 * offline sample repo (the RPM tests' own rpmbuild packages in a createrepo_c repository, read
 * through a file:// baseurl; no mirror) is built once to its bootstrap ISO and bundled into an OCI
 * layout tar, then rebuilt from the bundle alone in a fresh cache with the network unshared and
 * the original repository out of reach (moved away): the ISO's sha256 is the original's. A bundle
 * with one .rpm changed by a byte, or removed, is refused before anything runs, naming that file.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');

let dir: string;
let repo: OfflineRpmRepo;
let fixture: FixtureRepo;
const cli = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
  run('node', [CLI, '--json', ...args], {
    cwd: dir,
    env: { ISOBUILD_CACHE: join(dir, 'cache'), NO_COLOR: '1', ...env },
    timeoutMs: 900_000,
    allowFailure: true,
  });

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** The bundle's manifest: each file's name and blob. */
async function bundleFiles(layout: string): Promise<{ name: string; blob: string }[]> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const blob = (digest: string) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as {
    layers: { digest: string; annotations: Record<string, string> }[];
  };
  return manifest.layers.map((l) => ({
    name: l.annotations['org.opencontainers.image.title']!,
    blob: blob(l.digest),
  }));
}

let bundle: string;
let iso: string;
let layout: string;

beforeAll(async () => {
  repo = await buildOfflineRpmRepo();
  dir = await mkdtemp(join(tmpdir(), 'isobuild-bundle-rpm-'));
  // A copy of the repository the build reads (file://), so the rebuild can be shown to do without it.
  const packages = join(dir, 'offline-repo');
  await run('cp', ['-a', repo.dir, packages]);
  fixture = await makeFixtureRepo({ packagemanager: 'dnf', baseurl: `file://${packages}` });
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
  bundle = join(dir, 'offline.tar');
  const res = await cli(['bundle', fixture.dir, '-o', bundle, '--bin', join(dir, 'bin')]);
  if (res.exitCode !== 0) throw new Error(`isobuild bundle failed:\n${res.all}`);
  const [output] = eventsOfType(res.stdout, 'output') as unknown as { path: string }[];
  iso = output!.path;
  layout = join(dir, 'layout');
  await mkdir(layout);
  await run('tar', ['-xf', bundle, '-C', layout]);
}, 900_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await fixture?.cleanup();
});

describe('isobuild bundle of the offline RPM sample (dnf)', () => {
  test('the bundle holds the repo folder, the lock, the repodata and every installed .rpm with the lock’s digest', async () => {
    const files = await bundleFiles(layout);
    const names = files.map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining(['repo/repo-spec.json', 'repo/offline.repo', 'isobuild.lock']),
    );
    expect(names).toContain('rpm/repos/offline/repodata/repomd.xml');
    // The repository's own metadata, byte for byte: its repomd.xml is the original's.
    const repomd = files.find((f) => f.name === 'rpm/repos/offline/repodata/repomd.xml')!;
    expect(await sha256(repomd.blob)).toBe(await sha256(join(repo.dir, 'repodata/repomd.xml')));
    expect(names.some((n) => /^rpm\/repos\/offline\/repodata\/[0-9a-f]{64}-primary\.xml\.gz$/.test(n))).toBe(
      true,
    );
    const lock = JSON.parse(await readFile(files.find((f) => f.name === 'isobuild.lock')!.blob, 'utf8')) as {
      packages: { name: string; version: string; arch: string; sha256: string }[];
    };
    expect(lock.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['busybox', 'linux']));
    const rpms = files.filter((f) => f.name.endsWith('.rpm'));
    expect(rpms).toHaveLength(lock.packages.length);
    for (const p of lock.packages) {
      const rpm = rpms.find((f) => f.name === `rpm/repos/offline/${p.name}-${p.version}.${p.arch}.rpm`);
      expect(rpm && (await sha256(rpm.blob))).toBe(p.sha256);
    }
    const bytes = (await Promise.all(files.map((f) => stat(f.blob)))).reduce((n, s) => n + s.size, 0);
    console.log(`offline RPM sample bundle: ${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  });

  test('build --from-bundle rebuilds it in a fresh cache with no network and no repository: the same ISO bytes', async () => {
    const out = join(dir, 'rebuilt.iso');
    // The repository the .repo file names is gone: only the bundle's copy can serve the rebuild.
    const packages = join(dir, 'offline-repo');
    await run('mv', [packages, `${packages}.away`]);
    try {
      const res = await cli(['build', '--from-bundle', bundle, '-o', out, '--bin', join(dir, 'rebin')], {
        ISOBUILD_CACHE: join(dir, 'no-cache'),
      });
      if (res.exitCode !== 0) throw new Error(`build --from-bundle failed:\n${res.all}`);
      expect(await sha256(out)).toBe(await sha256(iso));
      const [done] = eventsOfType(res.stdout, 'from-bundle') as unknown as { seconds: number }[];
      console.log(`offline RPM sample rebuilt from its bundle in ${done!.seconds.toFixed(1)} s`);
      expect(res.stdout).toContain('unshare -n');
    } finally {
      await run('mv', [`${packages}.away`, packages]);
    }
  }, 900_000);
});

describe('a tampered RPM bundle is refused before anything runs, naming the file', () => {
  let rpm: { name: string; blob: string };

  beforeAll(async () => {
    rpm = (await bundleFiles(layout)).find((f) => /^rpm\/repos\/offline\/busybox-.*\.rpm$/.test(f.name))!;
  });

  async function expectRefused(file: string, words: string): Promise<void> {
    const res = await cli(['build', '--from-bundle', layout, '--bin', join(dir, 'never')]);
    expect(res.exitCode).toBe(1);
    const [error] = eventsOfType(res.stdout, 'error') as unknown as {
      kind: string;
      file: string;
      message: string;
    }[];
    expect(error).toMatchObject({ kind: 'bundle', file, path: layout });
    expect(error!.message).toContain(words);
    expect(eventsOfType(res.stdout, 'stage')).toHaveLength(0);
    await expect(readdir(join(dir, 'never'))).rejects.toThrow();
  }

  test('one byte of an .rpm changed', async () => {
    const bytes = await readFile(rpm.blob);
    const saved = Buffer.from(bytes);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(rpm.blob, bytes);
    await expectRefused(rpm.name, 'changed');
    await writeFile(rpm.blob, saved);
  }, 120_000);

  test('one .rpm removed', async () => {
    await rm(rpm.blob);
    await expectRefused(rpm.name, 'missing');
  }, 120_000);
});
