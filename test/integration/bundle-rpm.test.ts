import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/exec/run.js';
import { eventsOfType } from '../helpers/json-events.js';
import { buildOfflineRpmRepo, type OfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';
import { serveDir, type ServedDir } from '../helpers/rpm-repo/serve-dir.js';

/**
 * isobuild bundle and build --from-bundle on the RPM path, through the real CLI and dnf: the
 * offline sample repo (the RPM tests' own rpmbuild packages in a createrepo_c repository; no
 * mirror), once served over http from 127.0.0.1 (dnf's package cache holds what is bundled) and
 * once through a file:// baseurl (read in place), is built to its bootstrap ISO and bundled into an
 * OCI layout tar, then rebuilt from the bundle alone in a fresh cache with the network unshared
 * and the original repository out of reach (server closed, folder moved away): the ISO's sha256
 * is the original's. A bundle
 * with one .rpm changed by a byte, or removed, is refused before anything runs, naming that file.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');

let dir: string;
let repo: OfflineRpmRepo;
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

/** One repository kind: built to its bootstrap ISO, bundled, its bundle unpacked. */
interface Bundled {
  fixture: FixtureRepo;
  bundle: string;
  iso: string;
  layout: string;
  /** Makes the repository unreachable until the returned function puts it back. */
  takeAway(): Promise<() => Promise<void>>;
}

async function bundleOf(kind: 'http' | 'file'): Promise<Bundled> {
  const work = join(dir, kind);
  await mkdir(work);
  // A copy of the repository, so the rebuild can be shown to do without it.
  const packages = join(work, 'offline-repo');
  await run('cp', ['-a', repo.dir, packages]);
  let server: ServedDir | undefined = kind === 'http' ? await serveDir(packages) : undefined;
  const fixture = await makeFixtureRepo({
    packagemanager: 'dnf',
    baseurl: server ? server.url : `file://${packages}`,
  });
  fixtures.push(fixture);
  const bundle = join(work, 'offline.tar');
  const res = await cli(['bundle', fixture.dir, '-o', bundle, '--bin', join(work, 'bin')], {
    ISOBUILD_CACHE: join(work, 'cache'),
  });
  if (res.exitCode !== 0) throw new Error(`isobuild bundle failed:\n${res.all}`);
  const [output] = eventsOfType(res.stdout, 'output') as unknown as { path: string }[];
  const layout = join(work, 'layout');
  await mkdir(layout);
  await run('tar', ['-xf', bundle, '-C', layout]);
  const takeAway = async () => {
    if (server) {
      await server.close();
      return async () => {
        server = await serveDir(packages);
      };
    }
    await run('mv', [packages, `${packages}.away`]);
    return async () => {
      await run('mv', [`${packages}.away`, packages]);
    };
  };
  closers.push(() => server?.close());
  return { fixture, bundle, iso: output!.path, layout, takeAway };
}

const fixtures: FixtureRepo[] = [];
const closers: (() => Promise<void> | undefined)[] = [];
const bundled: Partial<Record<'http' | 'file', Bundled>> = {};

beforeAll(async () => {
  repo = await buildOfflineRpmRepo();
  dir = await mkdtemp(join(tmpdir(), 'isobuild-bundle-rpm-'));
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
  // One after the other: the machine's cores are shared.
  bundled.http = await bundleOf('http');
  bundled.file = await bundleOf('file');
}, 1_200_000);

afterAll(async () => {
  for (const close of closers) await close();
  for (const f of fixtures) await f.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['served over http: the repodata and packages are the package cache’s copies', 'http'],
  ['a file:// baseurl: the repository read in place', 'file'],
] as const)('isobuild bundle of the offline RPM sample (dnf), %s', (_, kind) => {
  test('the bundle holds the repo folder, the lock, the repodata and every installed .rpm with the lock’s digest', async () => {
    const { layout } = bundled[kind]!;
    const files = await bundleFiles(layout);
    const names = files.map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining(['repo/repo-spec.json', 'repo/offline.repo', 'isobuild.lock']),
    );
    // The repository's own metadata, byte for byte: its repomd.xml is the original's.
    const repomd = files.find((f) => f.name === 'rpm/repos/offline/repodata/repomd.xml');
    expect(repomd && (await sha256(repomd.blob))).toBe(await sha256(join(repo.dir, 'repodata/repomd.xml')));
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
    console.log(
      `offline RPM sample bundle (${kind}): ${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB`,
    );
  });

  test('build --from-bundle rebuilds it in a fresh cache with no network and no repository: the same ISO bytes', async () => {
    const { bundle, iso, takeAway } = bundled[kind]!;
    const out = join(dir, kind, 'rebuilt.iso');
    // The repository the .repo file names is out of reach: only the bundle's copy can serve the rebuild.
    const putBack = await takeAway();
    try {
      const res = await cli(
        ['build', '--from-bundle', bundle, '-o', out, '--bin', join(dir, kind, 'rebin')],
        {
          ISOBUILD_CACHE: join(dir, kind, 'no-cache'),
        },
      );
      if (res.exitCode !== 0) throw new Error(`build --from-bundle failed:\n${res.all}`);
      expect(await sha256(out)).toBe(await sha256(iso));
      const [done] = eventsOfType(res.stdout, 'from-bundle') as unknown as { seconds: number }[];
      console.log(`offline RPM sample (${kind}) rebuilt from its bundle in ${done!.seconds.toFixed(1)} s`);
      expect(res.stdout).toContain('unshare -n');
    } finally {
      await putBack();
    }
  }, 900_000);
});

test('the same inputs give the same RPM bundle bytes', async () => {
  const { fixture, bundle } = bundled.file!;
  const again = join(dir, 'file', 'again.tar');
  const res = await cli(['bundle', fixture.dir, '-o', again, '--bin', join(dir, 'file', 'bin')], {
    ISOBUILD_CACHE: join(dir, 'file', 'cache'),
  });
  expect(res.exitCode).toBe(0);
  expect(await sha256(again)).toBe(await sha256(bundle));
}, 600_000);

describe('a tampered RPM bundle is refused before anything runs, naming the file', () => {
  let layout: string;
  let rpm: { name: string; blob: string };

  beforeAll(async () => {
    layout = bundled.http!.layout;
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
