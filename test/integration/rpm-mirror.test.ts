import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { exists } from '../../src/fs/exists.js';
import { shippedRepoHint } from '../../src/pm/rpm-mirror.js';
import { SHIPPED_REPOS } from '../../src/spec/shipped-repos.js';
import { buildOfflineRpmRepo, type OfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { busyboxRootOptions, makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';

/**
 * build --mirror through the real CLI and dnf: a repo whose .repo file points at a server that
 * refuses connections (127.0.0.1 port 1, so nothing waits on a timeout) fails to fetch its
 * metadata, and builds from a local copy named by ISOBUILD_MIRROR, the root keeping the .repo
 * file as written. The busybox-only root keeps it to iso-base's few seconds.
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO_ROOT, 'dist/cli/main.js');
const UNREACHABLE = 'http://127.0.0.1:1/offline/';

describe('build --mirror', () => {
  let repo: OfflineRpmRepo;
  let fixture: FixtureRepo;
  let dir: string;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run('node', [CLI, ...args], {
      cwd: dir,
      env: { ISOBUILD_CACHE: join(dir, 'cache'), ...env },
      timeoutMs: 600_000,
      allowFailure: true,
    });

  beforeAll(async () => {
    repo = await buildOfflineRpmRepo();
    fixture = await makeFixtureRepo({ packagemanager: 'dnf', baseurl: UNREACHABLE, ...busyboxRootOptions() });
    dir = await mkdtemp(join(tmpdir(), 'isobuild-rpm-mirror-'));
    if (!(await exists(CLI))) await run('npm', ['run', 'build'], { cwd: REPO_ROOT });
  }, 900_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await fixture?.cleanup();
  });

  test('without one, dnf cannot fetch the metadata: the words the shipped samples’ hint looks for', async () => {
    const res = await cli(['build', fixture.dir, '--target', 'iso-base']);
    expect(res.exitCode).toBe(1);
    // A repo of the user's own gets no advice about the shipped samples...
    expect(res.stderr).not.toContain('is a sample shipped with isobuild');
    // ...and dnf's real failure is one the hint for a shipped sample recognises.
    expect(shippedRepoHint(join(SHIPPED_REPOS, 'photon-2.0'), res.stderr)).toContain('--mirror <URL>');
  }, 600_000);

  test('ISOBUILD_MIRROR names a local copy: the root builds from it and keeps the .repo file as written', async () => {
    const mirror = `file://${repo.dir}`;
    const res = await cli(['build', fixture.dir, '--target', 'iso-base', '--export', join(dir, 'root')], {
      ISOBUILD_MIRROR: mirror,
    });
    expect(res.exitCode).toBe(0);
    expect(res.all).toContain(
      `dnf: --mirror: fetching from ${mirror}/ what the .repo files put under ${UNREACHABLE}`,
    );
    expect(await readFile(join(dir, 'root/etc/yum.repos.d/offline.repo'), 'utf8')).toContain(
      `baseurl=${UNREACHABLE}\n`,
    );
  }, 600_000);
});
