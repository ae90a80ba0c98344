import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { run } from '../../../src/exec/run.js';
import { startKernelBesideSetup, type BesideSetupContext } from '../../../src/kernel/kernel-beside-setup.js';
import type { Logger } from '../../../src/log/logger.js';
import type { EarlyKernel } from '../../../src/pm/types.js';

let tmp: DirectoryResult;
let lines: string[];
let ctx: BesideSetupContext;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  lines = [];
  const note = (level: string) => (msg: string) => lines.push(`${level} ${msg}`);
  const logger = {
    debug: note('debug'),
    info: note('info'),
    warn: note('warn'),
    error: note('error'),
    event: () => undefined,
    output: note('output'),
    attachFile: () => undefined,
    detachFile: async () => undefined,
  } satisfies Logger;
  ctx = { tmpDir: tmp.path, stage: 'iso-base', logger, run: (file, args, opts) => run(file, args, opts) };
});
afterEach(() => tmp.cleanup());

async function makeDeb(): Promise<string> {
  const tree = join(tmp.path, 'deb-tree');
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  await mkdir(join(tree, 'lib/modules/6.6.6'), { recursive: true });
  await writeFile(join(tree, 'lib/modules/6.6.6/modules.order'), 'kernel/x.ko\n');
  await writeFile(
    join(tree, 'DEBIAN/control'),
    'Package: linux-image-test\nVersion: 1\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: t\n',
  );
  const deb = join(tmp.path, 'linux-image-test_1_amd64.deb');
  await run('dpkg-deb', ['--root-owner-group', '-b', tree, deb]);
  return deb;
}

const fetched = (path: string, outdated?: string): EarlyKernel => ({
  files: [{ path, format: 'deb' }],
  outdated: async () => outdated,
});

async function mergedUsrRoot(): Promise<string> {
  const root = join(tmp.path, 'root');
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  return root;
}

test('the kernel unpacked beside setup is merged through the root links afterwards; its lines are marked', async () => {
  const deb = await makeDeb();
  const besides = startKernelBesideSetup(ctx, async () => fetched(deb), 'apt setup');
  const root = await mergedUsrRoot();
  expect(await besides.merge(root)).toBe(true);
  expect(await readlink(join(root, 'lib'))).toBe('usr/lib');
  expect(await readFile(join(root, 'usr/lib/modules/6.6.6/modules.order'), 'utf8')).toBe('kernel/x.ko\n');
  expect(existsSync(join(tmp.path, 'kernel-beside-setup'))).toBe(false);
  expect(lines).toContainEqual(expect.stringMatching(/^debug beside setup: \$ dpkg-deb -x /));
  expect(lines).toContainEqual(
    expect.stringMatching(
      /^info kernel package linux-image-test_1_amd64.deb fetched and unpacked beside apt setup/,
    ),
  );
});

type Fetch = () => Promise<EarlyKernel | undefined>;
test.each<[string, Fetch, RegExp | undefined]>([
  [
    'the fetch fails',
    async () => Promise.reject(new Error('E: no such package\nmore')),
    /\(it failed: E: no such package\)/,
  ],
  [
    'setup refreshed what it fetched with',
    async () => fetched(await makeDeb(), 'lists refreshed'),
    /\(lists refreshed\)/,
  ],
  ['the adapter declines (it says why)', async () => undefined, undefined],
])('merge gives way to the fetch after setup when %s', async (_, fetch, warning) => {
  const besides = startKernelBesideSetup(ctx, fetch, 'apt setup');
  const root = await mergedUsrRoot();
  expect(await besides.merge(root)).toBe(false);
  expect(existsSync(join(root, 'usr/lib/modules'))).toBe(false);
  const warned = lines.filter((l) => l.startsWith('warn'));
  if (warning) expect(warned).toEqual([expect.stringMatching(warning)]);
  else expect(warned).toEqual([]);
  expect(existsSync(join(tmp.path, 'kernel-beside-setup'))).toBe(false);
});

test('when setup fails, end() stops the running command and removes the scratch folder', async () => {
  const pidFile = join(tmp.path, 'pid');
  const besides = startKernelBesideSetup(
    ctx,
    async (run) => {
      await mkdir(join(tmp.path, 'kernel-beside-setup/0'), { recursive: true });
      await run('sh', ['-c', `echo $$ > ${pidFile}; exec sleep 60`]);
      return undefined;
    },
    'apt setup',
  );
  while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 20));
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  const started = Date.now();
  await besides.end();
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(() => process.kill(pid, 0)).toThrow();
  expect(existsSync(join(tmp.path, 'kernel-beside-setup'))).toBe(false);
  expect(lines.filter((l) => l.startsWith('warn'))).toEqual([]);
});
