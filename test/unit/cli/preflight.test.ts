import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEvents } from '../../helpers/json-events.js';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';

/**
 * Preflight through the real CLI: a PATH holding every tool of /usr/bin but xorriso (links in a
 * temp folder), so the build stops before any work, naming the tool, why and its package.
 */
let dir: string;
beforeAll(checkCliBuilt);
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-preflight-'));
  await mkdir(join(dir, 'bin'));
  for (const name of await readdir('/usr/bin'))
    if (name !== 'xorriso') await symlink(join('/usr/bin', name), join(dir, 'bin', name));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a build needing a tool absent from PATH fails at preflight, naming it, why and its package', async () => {
  const env = { PATH: join(dir, 'bin'), ISOBUILD_CACHE: join(dir, 'cache') };
  const res = await runCli(['build', 'debian-12'], ROOT, env);
  expect(res.code).toBe(1);
  expect(res.stderr).toBe(
    'error: missing host tools:\n  xorriso (needed to master the ISO): apt-get install xorriso\n',
  );
  // Nothing started: no cache folder, no stage.
  expect(await readdir(dir)).toEqual(['bin']);

  const json = await runCli(['--json', 'build', 'debian-12'], ROOT, env);
  expect(json.code).toBe(1);
  expect(parseEvents(json.stdout).at(-1)).toEqual({
    type: 'error',
    kind: 'tool-missing',
    message: 'missing host tools:\n  xorriso (needed to master the ISO): apt-get install xorriso',
    exitCode: 1,
    missing: [{ tool: 'xorriso', reason: 'master the ISO', debianPackage: 'xorriso' }],
  });
});
