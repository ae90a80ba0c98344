import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { PACKAGE_MANAGERS } from '../../src/pm/index.js';
import { selectRpmFrontend } from '../../src/pm/rpm-frontend.js';
import { buildOfflineRpmRepo, type OfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';
import { makePmContext, type TestPmContext } from '../helpers/rpm-repo/pm-context.js';
import { exists } from '../../src/fs/exists.js';

/**
 * The dnf, yum and tdnf adapters install the offline test distribution into a root with the
 * real rpm and dnf (yum and tdnf fall back to dnf on this Debian host, and say so).
 */
const BASE = ['filesystem', 'bash', 'busybox', 'util-linux', 'haveged', 'iptables', 'toybox'];
/** What the base packages pull in: blkid, haveged and iptables need glibc. */
const PULLED_IN = ['glibc'];

async function queryInstalled(root: string): Promise<string[]> {
  const res = await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\n']);
  return res.stdout.split('\n').filter(Boolean).sort();
}

let repo: OfflineRpmRepo;
beforeAll(async () => {
  repo = await buildOfflineRpmRepo();
}, 600_000);

describe.each(['dnf', 'yum', 'tdnf'] as const)('the %s adapter with the offline repository', (name) => {
  let fixture: FixtureRepo;
  let t: TestPmContext;
  const pm = PACKAGE_MANAGERS[name];
  const before: Record<string, string[]> = {};
  let homeDbBefore: boolean;

  beforeAll(async () => {
    fixture = await makeFixtureRepo({ packagemanager: name, baseurl: `file://${repo.dir}` });
    t = await makePmContext(fixture.spec);
    homeDbBefore = await exists(join(homedir(), '.rpmdb'));
    await pm.setup(t.ctx, fixture.spec.packages.base);
    before.setup = await queryInstalled(t.ctx.rootfs);
    await pm.install(t.ctx, ['linux']);
    before.install = await queryInstalled(t.ctx.rootfs);
    await pm.runScript(t.ctx, fixture.spec.stagingScript.bootstrap);
    before.script = await queryInstalled(t.ctx.rootfs);
    await pm.clean(t.ctx);
  }, 600_000);

  afterAll(async () => {
    await t?.cleanup();
    await fixture?.cleanup();
  });

  test('setup installs the base packages into the root’s database at /var/lib/rpm', async () => {
    expect(before.setup).toEqual([...BASE, ...PULLED_IN].sort());
    expect(await exists(join(t.ctx.rootfs, 'var/lib/rpm/rpmdb.sqlite'))).toBe(true);
    // Debian's rpm default (~/.rpmdb) was never used, on the host or in the root.
    expect(await exists(join(homedir(), '.rpmdb'))).toBe(homeDbBefore);
    expect(await exists(join(t.ctx.rootfs, homedir(), '.rpmdb'))).toBe(false);
  });

  test('the packages’ files are in the root: busybox applets, bash, the merged /usr links', async () => {
    const root = t.ctx.rootfs;
    expect(await readlink(join(root, 'bin'))).toBe('usr/bin');
    expect(await readlink(join(root, 'lib64'))).toBe('usr/lib64');
    for (const applet of ['usr/bin/sh', 'usr/bin/mount', 'usr/sbin/modprobe', 'usr/sbin/insmod'])
      expect((await lstat(join(root, applet))).isSymbolicLink()).toBe(true);
    // util-linux's switch_root (it moves /dev, /proc, /sys and /run into the new root).
    expect((await lstat(join(root, 'usr/sbin/switch_root'))).isFile()).toBe(true);
    const res = await run(join(root, 'usr/bin/bash'), ['-c', 'echo $BASH_VERSION']);
    expect(res.stdout).toMatch(/^5\./);
    // blkid is dynamically linked: it runs in the root with the root's own glibc.
    const blkid = await run('chroot', [root, '/usr/sbin/blkid', '-V']);
    expect(blkid.stdout).toMatch(/^blkid from util-linux/);
  });

  test('installing the kernel package gives /lib/modules/<version> with modules.dep', async () => {
    expect(before.install).toContain('linux');
    const modules = join(t.ctx.rootfs, 'lib/modules', repo.kernelVersion);
    expect(await readFile(join(modules, 'modules.dep'), 'utf8')).toMatch(/nfsv3\.ko:/);
    expect(await exists(join(t.ctx.rootfs, 'boot', `vmlinuz-${repo.kernelVersion}`))).toBe(true);
  });

  test('the staging script `erase toybox` removes toybox and only toybox', async () => {
    expect(before.script).toEqual(before.install!.filter((p) => p !== 'toybox'));
    expect(await exists(join(t.ctx.rootfs, 'usr/bin/toybox'))).toBe(false);
  });

  test('clean empties /var/cache in the root; the root keeps its own config and repo file', async () => {
    expect(await readdir(join(t.ctx.rootfs, 'var/cache'))).toEqual([]);
    expect(await readdir(join(t.ctx.rootfs, 'etc/yum.repos.d'))).toEqual(['offline.repo']);
    const conf = name === 'yum' ? 'etc/yum.conf' : `etc/${name}/${name}.conf`;
    expect(await readFile(join(t.ctx.rootfs, conf), 'utf8')).toContain('cachedir=/var/cache/');
  });

  test('the log says when dnf stands in for the package manager asked for', () => {
    const warnings = t.logger.lines.filter((l) => l.level === 'warn').map((l) => l.text);
    const frontend = selectRpmFrontend(name);
    if (frontend.fallback) {
      expect(warnings).toEqual([
        `${name} is not installed on this host; running dnf with the same configuration instead`,
      ]);
    } else {
      expect(warnings).toEqual([]);
    }
  });
});
