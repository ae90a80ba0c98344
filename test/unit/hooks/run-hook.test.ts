import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { CommandError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { FIXED_HOOK_VARS, makeHookEnv, parseHookEnv } from '../../../src/hooks/hook-env.js';
import { UsageError } from '../../../src/errors.js';
import { runHook } from '../../../src/hooks/run-hook.js';
import { silentLogger } from '../../../src/log/logger.js';

import type { ResolvedSpec } from '../../../src/spec/types.js';
import { hookFor, type TestStageContext } from '../../helpers/stage-context.js';

// Real bash runs the hooks; the StageContext is made by hand (the runner is not needed here).
let tmp: DirectoryResult;
let repoDir: string;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  repoDir = join(tmp.path, 'repos', 'photon-2.0');
  await mkdir(repoDir, { recursive: true });
});
afterEach(() => tmp.cleanup());

async function contextFor(
  work: string,
  names = { rootfs: 'rootfs', bootfs: 'bootfs' },
): Promise<TestStageContext> {
  const ctx = {
    plan: { flavour: 'appliance', options: { sourceDateEpoch: 42 } },
    spec: { name: 'photon-2.0', repoDir, packagemanager: 'tdnf' } as unknown as ResolvedSpec,
    stage: 'staging',
    sourceDateEpoch: 42,
    rootfs: join(work, names.rootfs),
    bootfs: join(work, names.bootfs),
    artifacts: join(work, 'artifacts'),
    tmpDir: join(work, 'tmp'),
    meta: {},
    logger: silentLogger,
    run: (file: string, args: readonly string[], opts?: object) =>
      run(file, args, { stage: 'staging', ...opts }),
  } as unknown as TestStageContext;
  for (const d of [ctx.rootfs, ctx.bootfs, ctx.tmpDir]) await mkdir(d, { recursive: true });
  return ctx;
}

test('the environment is fixed and documented; the flavour only reaches staging hooks', () => {
  const input = {
    pkgDir: '/w',
    rootfs: '/w/rootfs',
    bootfs: '/w/bootfs',
    repoName: 'debian-12',
    repoDir: '/repos/debian-12',
    packageManager: 'apt',
    stage: 'iso-base',
    flavour: 'bootstrap',
    sourceDateEpoch: 7,
    tmpDir: '/w/tmp',
  };
  expect(makeHookEnv({ ...input, kind: 'base' })).toEqual({
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    LC_ALL: 'C',
    TMPDIR: '/w/tmp',
    SOURCE_DATE_EPOCH: '7',
    PKGDIR: '/w',
    REPO: 'debian-12',
    REPODIR: '/repos/debian-12',
    PACKAGE_MANAGER: 'apt',
    ISOBUILD_ROOTFS: '/w/rootfs',
    ISOBUILD_BOOTFS: '/w/bootfs',
    ISOBUILD_REPO: 'debian-12',
    ISOBUILD_REPODIR: '/repos/debian-12',
    ISOBUILD_STAGE: 'iso-base',
    ISOBUILD_HOOK: 'base',
    ISOBUILD_FLAVOUR: '',
  });
  expect(makeHookEnv({ ...input, kind: 'staging' }).ISOBUILD_FLAVOUR).toBe('bootstrap');
  expect(Object.keys(makeHookEnv({ ...input, kind: 'base' })).sort()).toEqual([...FIXED_HOOK_VARS].sort());
});

test('build --env adds variables to the fixed environment; KEY alone takes the caller’s value', () => {
  expect(parseHookEnv(['MIRROR=http://m/x', 'EMPTY=', 'EQ=a=b', 'USER_TOKEN'], { USER_TOKEN: 't' })).toEqual({
    MIRROR: 'http://m/x',
    EMPTY: '',
    EQ: 'a=b',
    USER_TOKEN: 't',
  });
});

test.each([
  ['PATH=/opt/bin', 'PATH is part of the fixed hook environment (docs/hooks.md) and cannot be replaced'],
  ['PKGDIR=/x', 'PKGDIR is part of the fixed hook environment'],
  ['ISOBUILD_ANYTHING=1', 'ISOBUILD_ANYTHING is part of the fixed hook environment'],
  ['BASH_ENV=/x', 'bash reads BASH_ENV before the hook starts; it cannot be set'],
  ['1X=1', '"1X" is not a variable name'],
  ['=1', '"" is not a variable name'],
  ['UNSET_HERE', 'UNSET_HERE is not set here; give a value with --env UNSET_HERE=VALUE'],
])('build --env %s is a usage error', (pair, message) => {
  expect(() => parseHookEnv([pair], {})).toThrow(UsageError);
  expect(() => parseHookEnv([pair], {})).toThrow(message);
});

test('a hook sees the --env variables beside the fixed ones, in the sandbox', async () => {
  const ctx = await contextFor(join(tmp.path, 'work'));
  const hook = join(repoDir, 'staging.sh');
  await writeFile(hook, 'echo "$GREETING|$EMPTY|$ISOBUILD_STAGE|$PATH" > "$TMPDIR/seen"\n');
  await runHook(ctx, { ...hookFor(ctx, 'staging', hook), env: { GREETING: 'hello world', EMPTY: '' } });
  expect(await readFile(join(ctx.tmpDir, 'seen'), 'utf8')).toBe(
    'hello world||staging|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n',
  );
});

test("VIC's photon-2.0 base.sh runs unchanged: PKGDIR, rootfs_dir, $0 and set -e as VIC gave them", async () => {
  const work = join(tmp.path, 'work');
  const ctx = await contextFor(work);
  const hook = join(repoDir, 'base.sh');
  await writeFile(
    hook,
    [
      'echo "base customizations for $(basename $(dirname $0))"',
      'mkdir -p $(rootfs_dir $PKGDIR)/{run,var}',
      'ln -s /run $(rootfs_dir $PKGDIR)/var/run',
      'env | sort > $(bootfs_dir $PKGDIR)/env.txt',
      'pwd > $(rootfs_dir $PKGDIR)/cwd.txt',
      '',
    ].join('\n'),
  );
  process.env.SOMETHING_FROM_THE_CALLER = 'leak';
  try {
    await runHook(ctx, hookFor(ctx, 'base', hook));
  } finally {
    delete process.env.SOMETHING_FROM_THE_CALLER;
  }
  expect(existsSync(join(ctx.rootfs, 'run'))).toBe(true);
  expect(await readFile(join(ctx.rootfs, 'cwd.txt'), 'utf8')).toBe(`${repoDir}\n`);
  const env = await readFile(join(ctx.bootfs, 'env.txt'), 'utf8');
  expect(env).toContain(`PKGDIR=${work}\n`);
  expect(env).toContain(`ISOBUILD_ROOTFS=${ctx.rootfs}\n`);
  expect(env).toContain('ISOBUILD_STAGE=staging\n');
  expect(env).toContain('SOURCE_DATE_EPOCH=42\n');
  expect(env).not.toContain('SOMETHING_FROM_THE_CALLER');
});

test('a root not laid out as <dir>/rootfs gets a bundle of links, so rootfs_dir $PKGDIR is still the root', async () => {
  const ctx = await contextFor(join(tmp.path, 'work'), { rootfs: 'r', bootfs: 'b' });
  const hook = join(repoDir, 'staging.sh');
  await writeFile(hook, 'touch "$(rootfs_dir $PKGDIR)/marker" "$(bootfs_dir "$PKGDIR")/marker"\n');
  await runHook(ctx, hookFor(ctx, 'staging', hook));
  expect(existsSync(join(ctx.rootfs, 'marker'))).toBe(true);
  expect(existsSync(join(ctx.bootfs, 'marker'))).toBe(true);
});

test('a failing hook names the hook, the stage and the tail of its output; set -e stops it', async () => {
  const ctx = await contextFor(join(tmp.path, 'work'));
  const hook = join(repoDir, 'staging.sh');
  const lines = Array.from({ length: 30 }, (_, i) => `echo line-${i}`);
  await writeFile(hook, [...lines, 'false', 'echo after-the-failure', ''].join('\n'));
  const err = await runHook(ctx, hookFor(ctx, 'staging', hook)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommandError);
  const message = (err as CommandError).message;
  expect(message).toMatch(new RegExp(`^stage staging: staging hook ${hook} failed \\(exit status 1\\)`));
  expect(message).toContain('line-29');
  expect(message).not.toContain('line-5\n');
  expect(message).not.toContain('after-the-failure');
  expect((err as CommandError).details.stage).toBe('staging');
});

test.each(['centos-6.9', 'photon-2.0'])(
  "VIC's %s base.sh from repos/ runs unchanged on VIC's layout",
  async (repo) => {
    const work = join(tmp.path, 'work');
    const ctx = await contextFor(work);
    await symlink('/lib', join(ctx.rootfs, 'lib64'));
    await runHook(ctx, hookFor(ctx, 'base', resolve('repos', repo, 'base.sh')));
    if (repo === 'centos-6.9') {
      expect((await lstat(join(ctx.rootfs, 'lib64'))).isDirectory()).toBe(true);
      expect((await lstat(join(ctx.rootfs, 'dev/null'))).isCharacterDevice()).toBe(true);
    } else {
      expect(await readlink(join(ctx.rootfs, 'var/run'))).toBe('/run');
    }
  },
);
