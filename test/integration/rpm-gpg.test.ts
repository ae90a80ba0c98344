import { BuildError, CommandError } from '../../src/errors.js';
import { run } from '../../src/exec/run.js';
import { dnfPackageManager } from '../../src/pm/dnf.js';
import { buildOfflineRpmRepo, type OfflineRpmRepo } from '../helpers/rpm-repo/build-rpm-repo.js';
import { makeFixtureRepo, type FixtureOptions } from '../helpers/rpm-repo/fixture-repo.js';
import { makePmContext } from '../helpers/rpm-repo/pm-context.js';
import { makeSignedRepo, type SignedRepo } from '../helpers/rpm-repo/signed-repo.js';

/**
 * gpgcheck as the .repo file says, against keys from the repo folder imported into the
 * root's rpm database: signed packages install, unsigned or unknown-key ones do not.
 */
const PACKAGES = ['filesystem', 'toybox'];

async function queryInstalled(root: string): Promise<string[]> {
  const res = await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME}\n']);
  return res.stdout.split('\n').filter(Boolean).sort();
}

/** Sets up a fresh root from a fixture; returns what got installed or the error. */
async function trySetup(opts: FixtureOptions): Promise<{ installed?: string[]; error?: unknown }> {
  const fixture = await makeFixtureRepo(opts);
  const t = await makePmContext(fixture.spec);
  try {
    await dnfPackageManager.setup(t.ctx, PACKAGES);
    return { installed: await queryInstalled(t.ctx.rootfs) };
  } catch (error) {
    return { error };
  } finally {
    await t.cleanup();
    await fixture.cleanup();
  }
}

describe('gpgcheck with the dnf adapter', () => {
  let repo: OfflineRpmRepo;
  let signed: SignedRepo;

  beforeAll(async () => {
    repo = await buildOfflineRpmRepo();
    signed = await makeSignedRepo(repo, PACKAGES);
  }, 600_000);
  afterAll(() => signed?.cleanup());

  test('signed packages install with gpgcheck=1 and the repo folder’s key, which lands in the root', async () => {
    const res = await trySetup({
      packagemanager: 'dnf',
      baseurl: `file://${signed.dir}`,
      gpgcheck: true,
      gpgKey: signed.publicKey,
    });
    expect(res.error).toBeUndefined();
    expect(res.installed).toEqual(['filesystem', 'gpg-pubkey', 'toybox']);
  });

  test('without any key the build stops before dnf, naming the .repo section and the fix', async () => {
    const res = await trySetup({ packagemanager: 'dnf', baseurl: `file://${signed.dir}`, gpgcheck: true });
    expect(res.error).toBeInstanceOf(BuildError);
    expect((res.error as BuildError).message).toMatch(
      /^stage iso-base: offline\.repo \[offline\] checks package signatures \(gpgcheck=1\) but there is no key/,
    );
  });

  test('with a key that did not sign the packages dnf refuses them', async () => {
    const other = await makeSignedRepo(repo, ['toybox']);
    try {
      const res = await trySetup({
        packagemanager: 'dnf',
        baseurl: `file://${signed.dir}`,
        gpgcheck: true,
        gpgKey: other.publicKey,
      });
      expect(res.error).toBeInstanceOf(CommandError);
      expect((res.error as CommandError).message).toMatch(/stage iso-base: command failed/);
      expect((res.error as CommandError).details.outputTail).toMatch(/[Pp]ublic key for .* is not installed/);
    } finally {
      await other.cleanup();
    }
  });

  test('unsigned packages fail with gpgcheck=1 and pass with gpgcheck=0: the .repo decides', async () => {
    const checked = await trySetup({
      packagemanager: 'dnf',
      baseurl: `file://${repo.dir}`,
      gpgcheck: true,
      gpgKey: signed.publicKey,
    });
    expect((checked.error as CommandError).details.outputTail).toMatch(/is not signed/);
    const unchecked = await trySetup({
      packagemanager: 'dnf',
      baseurl: `file://${repo.dir}`,
      gpgcheck: false,
    });
    expect(unchecked.installed).toEqual(PACKAGES);
  });
});
