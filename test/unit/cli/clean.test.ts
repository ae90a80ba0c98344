import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEvents } from '../../helpers/json-events.js';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';

beforeAll(checkCliBuilt);
const REPOS = join(ROOT, 'repos');
let cache: string;

/**
 * A cache with stages and logs for two repos, the package cache they share, and their own
 * package caches from before it was shared (`packages/<repo>/`).
 */
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'isobuild-clean-'));
  for (const kind of ['stages', 'logs', 'packages'])
    for (const repo of ['debian-12', 'photon-2.0']) {
      await mkdir(join(cache, kind, repo), { recursive: true });
      await writeFile(join(cache, kind, repo, 'x'), 'x');
    }
  await mkdir(join(cache, 'package-cache', 'apt', 'archives'), { recursive: true });
  await writeFile(join(cache, 'package-cache', 'apt', 'archives', 'busybox_1_amd64.deb'), 'x');
});
afterEach(() => rm(cache, { recursive: true, force: true }));

const clean = (...args: string[]) =>
  runCli(['clean', '--repos', REPOS, ...args], ROOT, { ISOBUILD_CACHE: cache });
const left = async (kind: string) => (await readdir(join(cache, kind))).sort();

test('clean without a repo drops every repo’s stages and logs, never the downloads', async () => {
  const res = await clean('--json');
  expect(res.code).toBe(0);
  expect(parseEvents(res.stdout)).toEqual([
    {
      type: 'clean',
      repo: null,
      packages: false,
      removed: ['debian-12', 'photon-2.0'].flatMap((r) => [join(cache, 'stages', r), join(cache, 'logs', r)]),
    },
  ]);
  expect(await left('stages')).toEqual([]);
  expect(await left('packages')).toEqual(['debian-12', 'photon-2.0']);
  expect(await left('package-cache')).toEqual(['apt']);
});

test('clean REPO drops that repo’s entries only; --packages its old package cache, never the shared one', async () => {
  expect((await clean('photon-2.0')).code).toBe(0);
  expect(await left('packages')).toEqual(['debian-12', 'photon-2.0']);
  expect(await left('stages')).toEqual(['debian-12']);
  const res = await clean('photon-2.0', '--packages');
  expect(res.code).toBe(0);
  expect(res.stderr).toContain('is shared by every repo: kept (`isobuild clean --packages` removes it)');
  expect(await left('packages')).toEqual(['debian-12']);
  expect(await left('package-cache')).toEqual(['apt']);
});

test('clean --packages without a repo drops the shared package cache and the old per-repo ones', async () => {
  const res = await clean('--packages', '--json');
  expect(res.code).toBe(0);
  expect(parseEvents(res.stdout)[0]).toMatchObject({
    removed: expect.arrayContaining([join(cache, 'package-cache'), join(cache, 'packages')]),
  });
  expect(await readdir(cache)).not.toContain('package-cache');
  expect(await readdir(cache)).not.toContain('packages');
});

test('clean --packages does not pull the package cache from under a build using it', async () => {
  // Another process takes the package cache's lock, as a build's package step does.
  const lockModule = join(ROOT, 'dist/cache/package-cache.js');
  const holder = spawn(
    'node',
    [
      '-e',
      `import(${JSON.stringify(lockModule)}).then((m) => m.lockPackageCache(${JSON.stringify(join(cache, 'package-cache'))},` +
        ` 0, { info() {}, warn() {}, debug() {} })).then(() => { console.log('locked'); setTimeout(() => {}, 30000); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    const res = await clean('--packages');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('another build using the package cache is running');
    expect(await left('package-cache')).toEqual(['apt']);
  } finally {
    holder.kill();
  }
});

test('clean debain-12: an unknown repo is a usage error with the nearest repo, and nothing is removed', async () => {
  const res = await clean('debain-12');
  expect(res.code).toBe(2);
  expect(res.stderr).toContain('no repo "debain-12" in repos or in the cache (did you mean "debian-12"?)');
  expect(await left('stages')).toEqual(['debian-12', 'photon-2.0']);
});

test('clean waits for nobody: a running build’s lock stops it, the cache stays', async () => {
  // Another process takes the repo's lock through the lock module, as a build does.
  const lockModule = join(ROOT, 'dist/cache/lock.js');
  const holder = spawn(
    'node',
    [
      '-e',
      `import(${JSON.stringify(lockModule)}).then((m) => m.acquireLock(${JSON.stringify(join(cache, 'locks'))},` +
        ` 'debian-12', 0, { info() {}, warn() {}, debug() {} })).then(() => { console.log('locked'); setTimeout(() => {}, 30000); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    const res = await clean('debian-12');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('another build of debian-12 is running');
    expect(await left('stages')).toEqual(['debian-12', 'photon-2.0']);
  } finally {
    holder.kill();
  }
});
