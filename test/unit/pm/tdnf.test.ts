import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { tdnfPackageManager } from '../../../src/pm/tdnf.js';
import { rpmCacheDir } from '../../../src/pm/rpm-cache-dir.js';
import { FIXTURE_REPO, type FixtureRepo } from '../../helpers/rpm-repo/fixture-repo.js';
import { setUpFakeFrontendTest, type FakeFrontends } from '../../helpers/rpm-repo/fake-frontend.js';
import { type TestPmContext } from '../../helpers/rpm-repo/pm-context.js';

/** The exact tdnf command lines, against a fake tdnf on PATH (Debian has no tdnf to run). */
describe('the tdnf adapter with tdnf installed (fake tdnf on PATH)', () => {
  let fixture: FixtureRepo;
  let t: TestPmContext;
  let fake: FakeFrontends;
  let tearDown: () => Promise<void>;

  beforeEach(async () => {
    ({ fixture, t, fake, tearDown } = await setUpFakeFrontendTest('tdnf', ['tdnf', 'dnf']));
  });
  afterEach(() => tearDown());

  test('install runs tdnf with the config, root, release, reposdir and persistent cache', async () => {
    await tdnfPackageManager.install(t.ctx, ['linux']);
    const [call, ...more] = await fake.calls();
    expect(more).toEqual([]);
    const root = await realpath(t.ctx.rootfs);
    const cache = await realpath(await rpmCacheDir(t.ctx));
    expect(call!.tool).toBe('tdnf');
    expect(call!.args).toEqual([
      '-c',
      expect.stringMatching(new RegExp(`^${t.ctx.tmpDir}/tdnf-[^/]+/tdnf\\.conf$`)),
      `--installroot=${root}`,
      '--releasever=1.0',
      expect.stringMatching(new RegExp(`^--setopt=reposdir=${t.ctx.tmpDir}/tdnf-[^/]+/yum\\.repos\\.d$`)),
      `--setopt=cachedir=${cache}`,
      '--assumeyes',
      'install',
      'linux',
    ]);
    expect(call!.config).toContain(`\ncachedir=${cache}\n`);
    expect(call!.config).toMatch(/\nrepodir=\/.*\/yum\.repos\.d\n/);
    expect(t.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  test('the staging script is passed through as arguments: erase toybox', async () => {
    await tdnfPackageManager.runScript(t.ctx, ['erase', 'toybox']);
    const [call] = await fake.calls();
    expect(call!.args.slice(-2)).toEqual(['erase', 'toybox']);
  });

  test('clean runs `clean all` against the root’s own cache, never the persistent one', async () => {
    await tdnfPackageManager.clean(t.ctx);
    const [call] = await fake.calls();
    const root = await realpath(t.ctx.rootfs);
    expect(call!.args).toContain(`--setopt=cachedir=${join(root, 'var/cache/tdnf')}`);
    expect(call!.args.slice(-2)).toEqual(['clean', 'all']);
  });

  test('no scratch folders are left behind in the stage’s tmpDir', async () => {
    await tdnfPackageManager.install(t.ctx, ['bash']);
    expect(await readdir(t.ctx.tmpDir)).toEqual([]);
  });

  test('the fixture repo folder is the sample repo', () => {
    expect(fixture.spec.name).toBe('offline-1.0');
    expect(fixture.spec.repoDir.endsWith('offline-1.0')).toBe(true);
    expect(FIXTURE_REPO.endsWith('test/fixtures/rpm-repo/offline-1.0')).toBe(true);
  });
});

describe('the tdnf adapter without tdnf (fake dnf on PATH)', () => {
  let t: TestPmContext;
  let fake: FakeFrontends;
  let tearDown: () => Promise<void>;

  beforeEach(async () => {
    ({ t, fake, tearDown } = await setUpFakeFrontendTest('tdnf', ['dnf']));
  });
  afterEach(() => tearDown());

  test('runs dnf with dnf’s dialect of the same configuration, and the log says so', async () => {
    await tdnfPackageManager.install(t.ctx, ['bash']);
    await tdnfPackageManager.install(t.ctx, ['busybox']);
    const calls = await fake.calls();
    expect(calls.map((c) => c.tool)).toEqual(['dnf', 'dnf']);
    expect(calls[0]!.args).toContain('--noplugins');
    expect(calls[0]!.config).toMatch(/\nreposdir=.*\nkeepcache=1\n/s);
    expect(t.logger.lines.filter((l) => l.level === 'warn').map((l) => l.text)).toEqual([
      'tdnf is not installed on this host; running dnf with the same configuration instead',
    ]);
  });
});
