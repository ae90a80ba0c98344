import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/run.js';
import { exists } from '../../src/fs/exists.js';
import {
  buildExtraRpmRepo,
  buildOfflineRpmRepo,
  type OfflineRpmRepo,
} from '../helpers/rpm-repo/build-rpm-repo.js';
import { busyboxRootOptions, makeFixtureRepo, type FixtureRepo } from '../helpers/rpm-repo/fixture-repo.js';

/**
 * An RPM root made of busybox alone (with the filesystem tree and the kernel), through the
 * real CLI and the dnf adapter: one with no rpm at all and one whose /usr/bin/rpm is busybox's
 * applet, each built to the bootstrap ISO and booted under qemu (TCG).
 * The rpm database conversion must not run the applet (it takes none of rpm's options) and,
 * with no rpm macros in the root to name a backend, keeps the host's format and says so.
 * Both builds share one cache, so the packages are fetched once.
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO_ROOT, 'dist/cli/main.js');
const KEEPS_FORMAT =
  "and no rpm macros that name a database backend; /var/lib/rpm stays in the host's sqlite format";

describe('a busybox-only RPM root', () => {
  let repo: OfflineRpmRepo;
  let dir: string;
  let env: Record<string, string>;
  const fixtures: FixtureRepo[] = [];
  const cli = (args: string[]) =>
    run('node', [CLI, ...args], { cwd: dir, env, timeoutMs: 600_000, stage: 'rpm busybox test' });

  /** The offline sample as a busybox root, with the applet's repository beside the shared one. */
  async function busyboxRepo(base: string): Promise<FixtureRepo> {
    const fixture = await makeFixtureRepo({
      packagemanager: 'dnf',
      baseurl: `file://${repo.dir}`,
      ...busyboxRootOptions(base),
      extraRepos: { applet: `file://${join(dir, 'applet-repo')}` },
    });
    fixtures.push(fixture);
    return fixture;
  }

  beforeAll(async () => {
    repo = await buildOfflineRpmRepo();
    dir = await mkdtemp(join(tmpdir(), 'isobuild-rpm-busybox-'));
    env = { ISOBUILD_CACHE: join(dir, 'cache') };
    await buildExtraRpmRepo(join(dir, 'applet-repo'), ['busybox-rpm-applet']);
    // `make test` builds dist first; a bare jest run may not have.
    if (!(await exists(CLI))) await run('npm', ['run', 'build'], { cwd: REPO_ROOT });
  }, 900_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    for (const f of fixtures) await f.cleanup();
  });

  /** Builds the fixture's bootstrap ISO and runs `uname -r` in it; the build's output. */
  async function buildAndBoot(fixture: FixtureRepo, name: string): Promise<string> {
    const bin = join(dir, `bin-${name}`);
    const build = await cli(['build', fixture.dir, '--target', 'bootstrap', '--bin', bin]);
    const iso = join(bin, (await readdir(bin)).find((f) => f.endsWith('.iso'))!);
    const res = await cli(['run', iso, '--', 'uname', '-r']);
    expect(res.stdout.trim()).toBe(repo.kernelVersion);
    return build.all ?? '';
  }

  test('with no rpm at all, the bootstrap ISO builds and boots, and the log says the database keeps the host’s format', async () => {
    const fixture = await busyboxRepo('filesystem busybox linux');
    expect(await buildAndBoot(fixture, 'none')).toContain(`rpmdb: the root has no rpm ${KEEPS_FORMAT}`);
  }, 900_000);

  test('with rpm as busybox’s applet, the bootstrap ISO builds and boots: uname -r in the container', async () => {
    const fixture = await busyboxRepo('filesystem busybox busybox-rpm-applet linux');
    expect(await buildAndBoot(fixture, 'applet')).toContain(
      'rpmdb: the root has no rpm of its own (/usr/bin/rpm is a link to /usr/bin/busybox, whose applet is not rpm) ' +
        KEEPS_FORMAT,
    );
  }, 900_000);
});
