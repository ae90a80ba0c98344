import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from '../../../src/build/build.js';
import { buildOptionsFor } from '../../../src/build/request.js';
import { UsageError } from '../../../src/errors.js';
import type { LogEvent } from '../../../src/log/logger.js';

const REPOS = fileURLToPath(new URL('../../../repos', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-build-lib-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('a repo that is not there is a typed usage error thrown to the caller, before any work', async () => {
  const events: LogEvent[] = [];
  const cacheRoot = join(dir, 'cache');
  const failed = build({ repo: 'debain-12', reposDir: REPOS, cacheRoot, onEvent: (e) => events.push(e) });
  await expect(failed).rejects.toThrow(UsageError);
  await expect(failed).rejects.toThrow('no repo "debain-12" in');
  await expect(failed).rejects.toMatchObject({ exitCode: 2 });
  expect(await readdir(dir)).toEqual([]);
  expect(events.filter((e) => e.type !== 'log')).toEqual([]);
});

test('a mirror asked of an apt repo is refused before any work', async () => {
  const cacheRoot = join(dir, 'cache');
  await expect(build({ repo: 'debian-12', reposDir: REPOS, cacheRoot, mirror: 'http://m/' })).rejects.toThrow(
    '--mirror is for RPM repos; debian-12 uses apt',
  );
  expect(await readdir(dir)).toEqual([]);
});

test("a request's fields go over the defaults; the ones it leaves out keep them", () => {
  const options = buildOptionsFor({
    repo: 'x',
    cacheRoot: '/c',
    lockTimeout: 0,
    outputDir: 'out',
    noCache: true,
  });
  expect(options).toMatchObject({
    cacheRoot: '/c',
    lockTimeout: 0,
    outputDir: 'out',
    noCache: true,
    force: false,
  });
  expect(buildOptionsFor({ repo: 'x' })).toMatchObject({
    lockTimeout: 1800,
    outputDir: 'bin',
    noCache: false,
  });
  expect(buildOptionsFor({ repo: 'x', tether: 'rel/tether' }).tether).toBe(join(process.cwd(), 'rel/tether'));
});
