import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCliBuilt, ROOT, runCli } from './run-cli.js';

// `isobuild build`'s flags that are checked before any work: each case must stop with a usage
// error (exit 2) and leave the cache untouched.
beforeAll(checkCliBuilt);
let cache: string;
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'isobuild-build-flags-'));
});
afterEach(() => rm(cache, { recursive: true, force: true }));

const build = (...args: string[]) =>
  runCli(['build', '--repos', join(ROOT, 'repos'), 'debian-12', ...args], ROOT, { ISOBUILD_CACHE: cache });

test.each([
  [['--env', 'PATH=/opt/bin'], '--env PATH=/opt/bin: PATH is part of the fixed hook environment'],
  [['--env', 'OK=1', '--env', 'ISOBUILD_STAGE=x'], 'ISOBUILD_STAGE is part of the fixed hook environment'],
  [['--env', 'NOT_SET_ANYWHERE_42'], '--env NOT_SET_ANYWHERE_42: NOT_SET_ANYWHERE_42 is not set here'],
])('build %j is a usage error before any work', async (args, message) => {
  const res = await build(...args);
  expect(res.stderr).toContain(message);
  expect(res.code).toBe(2);
  expect(await readdir(cache)).toEqual([]);
});

test.each([
  [['--debug-shell'], '--debug-shell opens an interactive shell and needs a terminal on stdin'],
  [['--debug-shell', '--json'], '--debug-shell opens an interactive shell: it cannot be used with --json'],
])('build %j without a person at a terminal is a usage error before any work', async (args, message) => {
  // runCli's stdin is not a terminal, as in CI.
  const res = await build(...args);
  expect(res.code).toBe(2);
  expect(res.stderr + res.stdout).toContain(message);
  expect(await readdir(cache)).toEqual([]);
});
