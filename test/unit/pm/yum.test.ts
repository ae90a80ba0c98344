import { mkdir, realpath } from 'node:fs/promises';
import { relative } from 'node:path';
import { yumPackageManager } from '../../../src/pm/yum.js';
import { rpmCacheDir } from '../../../src/pm/rpm-cache-dir.js';
import { makeFixtureRepo, type FixtureRepo } from '../../helpers/rpm-repo/fixture-repo.js';
import { installFakeFrontends, type FakeFrontends } from '../../helpers/rpm-repo/fake-frontend.js';
import { makePmContext, type TestPmContext } from '../../helpers/rpm-repo/pm-context.js';

/** yum's command lines and config dialect, and its fallback, against fake binaries on PATH. */
describe('the yum adapter', () => {
  let fixture: FixtureRepo;
  let t: TestPmContext;
  let fake: FakeFrontends | undefined;

  beforeEach(async () => {
    fixture = await makeFixtureRepo({ packagemanager: 'yum', baseurl: 'file:///nowhere' });
    t = await makePmContext(fixture.spec, { stage: 'staging' });
    await mkdir(t.ctx.rootfs, { recursive: true });
  });
  afterEach(async () => {
    await fake?.restore();
    fake = undefined;
    await t.cleanup();
    await fixture.cleanup();
  });

  test('with yum installed (fake yum on PATH): yum’s dialect, VIC’s yum.conf settings', async () => {
    fake = await installFakeFrontends(['yum', 'dnf']);
    await yumPackageManager.runScript(t.ctx, ['erase', 'toybox']);
    const [call, ...more] = await fake.calls();
    expect(more).toEqual([]);
    expect(call!.tool).toBe('yum');
    const root = await realpath(t.ctx.rootfs);
    expect(call!.args.slice(2)).toEqual([
      `--installroot=${root}`,
      '--releasever=1.0',
      expect.stringMatching(/^--setopt=reposdir=.*\/yum\.repos\.d$/),
      '--noplugins',
      '--assumeyes',
      'erase',
      'toybox',
    ]);
    const cache = await realpath(await rpmCacheDir(t.ctx));
    expect(call!.config).toContain(`\ncachedir=/${relative(root, cache)}\n`);
    expect(call!.config).toMatch(/\nlogfile=\/\.\..*\/log\/yum\.log\n/);
    expect(call!.config).toContain('\nexactarch=1\nobsoletes=1\n');
    expect(call!.config).not.toContain('install_weak_deps');
    expect(t.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  test('without yum (fake dnf only): dnf runs, and the log says so once', async () => {
    fake = await installFakeFrontends(['dnf']);
    await yumPackageManager.runScript(t.ctx, ['erase', 'toybox']);
    await yumPackageManager.install(t.ctx, ['bash']);
    expect((await fake.calls()).map((c) => c.tool)).toEqual(['dnf', 'dnf']);
    expect(t.logger.lines.filter((l) => l.level === 'warn').map((l) => l.text)).toEqual([
      'yum is not installed on this host; running dnf with the same configuration instead',
    ]);
  });
});
