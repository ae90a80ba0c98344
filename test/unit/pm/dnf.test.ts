import { mkdir, readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { BuildError } from '../../../src/errors.js';
import { dnfPackageManager } from '../../../src/pm/dnf.js';
import { rpmCacheDir } from '../../../src/pm/rpm-cache-dir.js';
import { makeFixtureRepo, type FixtureRepo } from '../../helpers/rpm-repo/fixture-repo.js';
import { setUpFakeFrontendTest, type FakeFrontends } from '../../helpers/rpm-repo/fake-frontend.js';
import { type TestPmContext } from '../../helpers/rpm-repo/pm-context.js';

/** dnf command lines and the generated config, against a fake dnf on PATH. */
describe('the dnf adapter (fake dnf on PATH)', () => {
  let t: TestPmContext;
  let fake: FakeFrontends;
  let tearDown: () => Promise<void>;

  beforeEach(async () => {
    ({ t, fake, tearDown } = await setUpFakeFrontendTest('dnf', ['dnf']));
  });
  afterEach(() => tearDown());

  test('the cache, log and history paths climb out of the root, since dnf puts the root in front of them', async () => {
    await dnfPackageManager.install(t.ctx, ['bash']);
    const [call] = await fake.calls();
    const root = await realpath(t.ctx.rootfs);
    const cache = await realpath(await rpmCacheDir(t.ctx));
    expect(call!.config).toContain(`\ncachedir=/${relative(root, cache)}\n`);
    expect(call!.config).toMatch(/\nlogdir=\/\.\.\/tmp\/dnf-[^/]+\/log\n/);
    expect(call!.config).toMatch(/\npersistdir=\/\.\.\/tmp\/dnf-[^/]+\/persist\n/);
    expect(call!.config).toContain('\ninstall_weak_deps=0\n');
    expect(call!.config).toContain('\nkeepcache=1\n');
  });

  test('a private HOME whose .rpmmacros sets %_dbpath /var/lib/rpm (Debian’s rpm defaults to ~/.rpmdb)', async () => {
    // A fake that reports its environment instead of its arguments.
    await writeFile(
      join(fake.dir, 'dnf'),
      `#!/bin/sh\ncat "$HOME/.rpmmacros" > ${join(fake.dir, 'macros')}\necho "$LC_ALL" >> ${join(fake.dir, 'macros')}\n`,
    );
    await dnfPackageManager.install(t.ctx, ['bash']);
    expect(await readFile(join(fake.dir, 'macros'), 'utf8')).toBe(
      '%_dbpath /var/lib/rpm\n%_install_langs C\nC.UTF-8\n',
    );
  });

  test('runScript maps the staging script to a dnf subcommand: erase toybox', async () => {
    await dnfPackageManager.runScript(t.ctx, ['erase', 'toybox']);
    await dnfPackageManager.runScript(t.ctx, []);
    const calls = await fake.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args.slice(-3)).toEqual(['--assumeyes', 'erase', 'toybox']);
  });

  test('clean runs `clean all` with the root’s cache and empties /var/cache, keeping the persistent cache', async () => {
    await mkdir(join(t.ctx.rootfs, 'var/cache/dnf/x'), { recursive: true });
    await mkdir(join(t.ctx.rootfs, 'var/log'), { recursive: true });
    await writeFile(join(t.ctx.rootfs, 'var/log/dnf.rpm.log'), 'x');
    await writeFile(join(t.ctx.rootfs, 'var/log/messages'), 'x');
    const persistent = await rpmCacheDir(t.ctx);
    await mkdir(persistent, { recursive: true });
    await writeFile(join(persistent, 'kept.rpm'), 'x');
    await dnfPackageManager.clean(t.ctx);
    const [call] = await fake.calls();
    expect(call!.args.slice(-2)).toEqual(['clean', 'all']);
    expect(call!.config).toContain('\ncachedir=/var/cache/dnf\n');
    expect(await readdir(join(t.ctx.rootfs, 'var/cache'))).toEqual([]);
    expect(await readdir(join(t.ctx.rootfs, 'var/log'))).toEqual(['messages']);
    expect(await readdir(persistent)).toEqual(['kept.rpm']);
  });

  test('a package name that would read as an option is refused before anything runs', async () => {
    await expect(dnfPackageManager.install(t.ctx, ['bash', '--nogpgcheck'])).rejects.toThrow(BuildError);
    await expect(dnfPackageManager.install(t.ctx, ['bash', '--nogpgcheck'])).rejects.toThrow(
      'stage iso-base: invalid package name(s): "--nogpgcheck"',
    );
    expect(await fake.calls()).toEqual([]);
  });

  test('installing nothing runs nothing', async () => {
    await dnfPackageManager.install(t.ctx, []);
    expect(await fake.calls()).toEqual([]);
  });
});

describe('describe and tools', () => {
  let fixture: FixtureRepo;
  beforeAll(async () => {
    fixture = await makeFixtureRepo({ packagemanager: 'dnf', baseurl: 'file:///nowhere' });
  });
  afterAll(() => fixture.cleanup());

  test('plan shows the commands with placeholders for the build’s folders', () => {
    expect(dnfPackageManager.describe(fixture.spec, 'script', ['erase', 'toybox'])).toEqual([
      'dnf -c $TMPDIR/dnf.conf --installroot=$ROOTFS --releasever=1.0 --setopt=reposdir=$TMPDIR/yum.repos.d --noplugins --assumeyes erase toybox',
    ]);
    expect(dnfPackageManager.describe(fixture.spec, 'setup', ['filesystem'])).toEqual([
      'rpm --root $ROOTFS --dbpath /var/lib/rpm --initdb',
      'dnf -c $TMPDIR/dnf.conf --installroot=$ROOTFS --releasever=1.0 --setopt=reposdir=$TMPDIR/yum.repos.d --noplugins --assumeyes install filesystem',
    ]);
    expect(dnfPackageManager.describe(fixture.spec, 'install', [])).toEqual([]);
  });

  test('tools: rpm, dnf and bwrap (rpmdb rebuild), each with its reason', () => {
    expect(dnfPackageManager.tools(fixture.spec).map((n) => n.tool)).toEqual(['rpm', 'dnf', 'bwrap']);
  });
});
