import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { buildOfflineRpmRepo, type OfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';
import { exists } from '../../src/fs/exists.js';

/**
 * The RPM path through the real CLI: `isobuild build` of the offline sample repo (tdnf,
 * standing in dnf on this host) to the staged root, then to the bootstrap ISO, which
 * `isobuild run` boots under qemu (TCG) to run commands in a container.
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO_ROOT, 'dist/cli/main.js');

async function queryInstalled(root: string): Promise<string[]> {
  const res = await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\n']);
  return res.stdout.split('\n').filter(Boolean).sort();
}

describe('a bootstrap ISO built through the RPM path', () => {
  let repo: OfflineRpmRepo;
  let fixture: FixtureRepo;
  let dir: string;
  let env: Record<string, string>;
  let staged: string;
  let iso: string;
  const cli = (args: string[], timeoutMs = 600_000) =>
    run('node', [CLI, ...args], { cwd: dir, env, timeoutMs, stage: 'rpm boot test' });

  beforeAll(async () => {
    repo = await buildOfflineRpmRepo();
    fixture = await makeFixtureRepo({ packagemanager: 'tdnf', baseurl: `file://${repo.dir}` });
    dir = await mkdtemp(join(tmpdir(), 'isobuild-rpm-boot-'));
    env = { ISOBUILD_CACHE: join(dir, 'cache') };
    // `make test` builds dist first; a bare jest run may not have.
    if (!(await exists(CLI))) await run('npm', ['run', 'build'], { cwd: REPO_ROOT });
    staged = join(dir, 'staged');
    await cli(['build', fixture.dir, '--target', 'bootstrap-staging', '--export', staged]);
    await cli(['build', fixture.dir, '--target', 'bootstrap', '--bin', join(dir, 'bin')]);
    iso = join(dir, 'bin', (await readdir(join(dir, 'bin'))).find((f) => f.endsWith('.iso'))!);
  }, 900_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await fixture?.cleanup();
  });

  test('the staged root has the base packages without toybox (erased by the staging script)', async () => {
    expect(await queryInstalled(staged)).toEqual([
      'bash',
      'busybox',
      'filesystem',
      'glibc',
      'haveged',
      'iptables',
      'linux',
      'util-linux',
    ]);
    expect(await exists(join(staged, 'usr/bin/toybox'))).toBe(false);
  });

  test('base.sh and staging.sh ran with VIC’s PKGDIR and rootfs_dir', async () => {
    expect(await readFile(join(staged, 'etc/isobuild-base-hook'), 'utf8')).toBe(
      'base.sh ran for offline-1.0\n',
    );
    expect(await readFile(join(staged, 'etc/isobuild-staging-hook'), 'utf8')).toBe(
      'staging.sh ran for offline-1.0\n',
    );
    expect(await readlink(join(staged, 'var/run'))).toBe('/run');
  });

  test('the kernel’s modules are indexed and the package caches are gone', async () => {
    expect(await exists(join(staged, 'lib/modules', repo.kernelVersion, 'modules.dep'))).toBe(true);
    expect(await readdir(join(staged, 'var/cache'))).toEqual([]);
  });

  test('a second cold build (its own cache) gives the same ISO, byte for byte', async () => {
    const again = join(dir, 'again');
    await run('node', [CLI, 'build', fixture.dir, '--target', 'bootstrap', '--bin', again], {
      cwd: dir,
      env: { ISOBUILD_CACHE: join(dir, 'cache-again') },
      timeoutMs: 600_000,
    });
    const hash = async (f: string) =>
      createHash('sha256')
        .update(await readFile(f))
        .digest('hex');
    const [name] = await readdir(again);
    expect(await hash(join(again, name!))).toBe(await hash(iso));
  }, 600_000);

  test('isobuild run boots it: uname -r in the container, VIC’s firewall set, haveged running', async () => {
    // VIC's checks for a custom bootstrap: the entropy daemon in the process list, the rules.
    const script = 'uname -r; /.tether/bin/iptables-wrapper -S; ps -o args';
    const res = await cli(['run', iso, '--', 'sh', '-c', script]);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toBe(repo.kernelVersion);
    expect(lines).toEqual(expect.arrayContaining(['-P INPUT DROP', '-N VIC', '-A INPUT -j VIC']));
    expect(res.stdout).toMatch(/\/\.tether\/bin\/haveged -w 1024/);
  }, 600_000);
});
