import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { exists } from '../../src/fs/exists.js';
import { buildOfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';

/**
 * Manifest, SBOM and lock on the offline RPM repository through the real CLI: the ISO's SBOM
 * validates and lists what the root's rpm database holds; `lock` + `build --locked` works;
 * a lock naming a version the repository lacks fails before any work, naming the package.
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO_ROOT, 'dist/cli/main.js');

describe('manifest, SBOM and lock on the RPM path', () => {
  let fixture: FixtureRepo;
  let dir: string;
  let env: Record<string, string>;
  const cli = (args: string[]) =>
    run('node', [CLI, ...args], {
      cwd: dir,
      env,
      timeoutMs: 600_000,
      allowFailure: true,
      stage: 'rpm lock test',
    });

  beforeAll(async () => {
    const repo = await buildOfflineRpmRepo();
    fixture = await makeFixtureRepo({ packagemanager: 'dnf', baseurl: `file://${repo.dir}` });
    dir = await mkdtemp(join(tmpdir(), 'isobuild-rpm-lock-'));
    env = { ISOBUILD_CACHE: join(dir, 'cache'), NO_COLOR: '1' };
    if (!(await exists(CLI))) await run('npm', ['run', 'build'], { cwd: REPO_ROOT });
  }, 600_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await fixture?.cleanup();
  });

  test('the ISO gets a manifest and a valid CycloneDX 1.6 SBOM listing the root’s rpm packages', async () => {
    const staged = join(dir, 'staged');
    expect(
      (await cli(['build', fixture.dir, '--target', 'bootstrap-staging', '--export', staged])).exitCode,
    ).toBe(0);
    expect((await cli(['build', fixture.dir, '--bin', join(dir, 'bin')])).exitCode).toBe(0);
    const iso = join(dir, 'bin', (await readdir(join(dir, 'bin'))).find((f) => f.endsWith('.iso'))!);
    const sbom = await readFile(`${iso}.cdx.json`, 'utf8');
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(sbom)).toBeNull();
    const rpmQa = await run('rpm', [
      '--root',
      staged,
      '--dbpath',
      '/var/lib/rpm',
      '-qa',
      '--qf',
      '%{NAME}\n',
    ]);
    const expected = rpmQa.stdout
      .split('\n')
      .filter((n) => n && n !== 'gpg-pubkey')
      .sort();
    const bom = JSON.parse(sbom) as { components: { name: string; purl?: string; hashes?: unknown[] }[] };
    const packages = bom.components.filter((c) => c.purl?.startsWith('pkg:rpm/'));
    expect(packages.map((c) => c.name).sort()).toEqual(expected);
    expect(packages.every((c) => c.hashes?.length === 1)).toBe(true);
    const manifest = JSON.parse(await readFile(`${iso}.manifest.json`, 'utf8')) as {
      output: { sha256: string };
      isobuildFiles: { path: string }[];
    };
    const isoSha = (await run('sha256sum', [iso])).stdout.split(' ')[0];
    expect(manifest.output.sha256).toBe(isoSha);
    // The init layer's own static busybox is listed as isobuild's, not any package's.
    expect(manifest.isobuildFiles.some((f) => /^\/usr\/lib\/isobuild\/.*\/busybox$/.test(f.path))).toBe(true);
  }, 900_000);

  test('lock, build --locked, and a lock edited to a missing version fails naming it (exit 1)', async () => {
    expect((await cli(['lock', fixture.dir])).exitCode).toBe(0);
    const lockFile = join(fixture.dir, 'isobuild.lock');
    const lock = JSON.parse(await readFile(lockFile, 'utf8')) as {
      packages: { name: string; version: string }[];
    };
    expect(lock.packages.map((p) => p.name)).toContain('toybox'); // installed by iso-base, erased by staging
    const locked = await cli(['build', fixture.dir, '--locked', '--target', 'bootstrap-staging']);
    expect(locked.exitCode).toBe(0);
    const bash = lock.packages.find((p) => p.name === 'bash')!;
    bash.version = `${bash.version}.edited`;
    await writeFile(lockFile, JSON.stringify(lock, null, 2));
    const stale = await cli(['build', fixture.dir, '--locked']);
    expect(stale.exitCode).toBe(1);
    expect(stale.stderr).toMatch(/bash .*\.edited \(x86_64\): the sources no longer provide this version/);
    expect(stale.stderr).not.toMatch(/\[1\/\d\]/); // no stage started
  }, 900_000);
});
