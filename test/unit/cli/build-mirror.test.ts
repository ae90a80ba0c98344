import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';

/** `build --mirror` is checked before any work: nothing is built, nothing is cached. */
describe('isobuild build --mirror', () => {
  let dir: string;
  beforeAll(checkCliBuilt);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isobuild-build-mirror-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const build = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(['build', '--repos', join(ROOT, 'repos'), ...args], dir, {
      ISOBUILD_CACHE: join(dir, 'cache'),
      ...env,
    });

  test.each([
    [
      ['debian-12', '--mirror', 'http://m/'],
      '--mirror is for RPM repos; debian-12 uses apt (its mirror comes from apt sources: ISOBUILD_APT_SOURCES)',
    ],
    [
      ['photon-2.0', '--mirror', '/srv/photon'],
      '--mirror takes an http(s)://, ftp:// or file:// URL, not "/srv/photon"',
    ],
  ])('%j is a usage error (exit 2): %s', async (args, message) => {
    const res = await build(args);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(message);
    expect(await readdir(dir)).toEqual([]);
  });

  test('ISOBUILD_MIRROR is the default for RPM repos only, so one environment serves an apt repo too', async () => {
    const rpm = await build(['photon-2.0'], { ISOBUILD_MIRROR: 'srv' });
    expect(rpm.code).toBe(2);
    expect(rpm.stderr).toContain('--mirror takes an http(s)://, ftp:// or file:// URL, not "srv"');
    // debian-12 goes past the check (to the plan's own checks), whatever the variable says.
    const apt = await build(['debian-12', '--target', 'nonsense'], { ISOBUILD_MIRROR: 'srv' });
    expect(apt.stderr).not.toContain('--mirror');
    expect(apt.stderr).toContain('nonsense');
  });
});
