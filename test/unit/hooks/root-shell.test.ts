import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { chooseShellRoot, defaultShellStage } from '../../../src/cli/shell.js';
import { commandInRoot, runInRoot } from '../../../src/hooks/root-shell.js';
import { createLogger } from '../../../src/log/logger.js';
import { runPipeline } from '../../../src/pipeline/run-pipeline.js';
import { defineStage, type BuildPlan, type Stage, type StageName } from '../../../src/stage/types.js';
import { planOfStages } from '../../helpers/stage-context.js';

// `isobuild shell` on a root made by the real pipeline and cache from small fake stages (no
// Debian build): the host's static busybox as the root's only program, run in real bubblewrap.
const HOST_BUSYBOX = '/bin/busybox';
let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  await mkdir(join(tmp.path, 'repo'));
});
afterEach(() => tmp.cleanup());

const logger = createLogger({
  quiet: true,
  stream: { write: () => true } as unknown as NodeJS.WritableStream,
});

function stage(name: StageName, mutatesRoot: boolean, body: (rootfs: string) => Promise<void>): Stage {
  return defineStage<{ name: string }>({
    name,
    version: 1,
    mutatesRoot,
    applies: () => true,
    commands: () => [],
    inputs: () => ({ name }),
    sources: async () => ({ files: [] }),
    describe: () => [],
    run: (ctx) => body(ctx.rootfs),
  });
}

/** iso-base: busybox (no applet links, as Debian's package), /etc; staging: a file; iso: nothing to the root. */
function fakePlan(o: { minimise?: boolean } = {}): BuildPlan {
  const stages = [
    stage('iso-base', true, async (root) => {
      await mkdir(join(root, 'usr/bin'), { recursive: true });
      await mkdir(join(root, 'etc'));
      await copyFile(HOST_BUSYBOX, join(root, 'usr/bin/busybox'));
      await symlink('usr/bin', join(root, 'bin'));
    }),
    stage('staging', true, async (root) => writeFile(join(root, 'etc/staged'), 'staged\n')),
    // As a minimised root: the program gone, the files kept.
    ...(o.minimise ? [stage('minimise', true, async (root) => rm(join(root, 'usr/bin/busybox')))] : []),
    stage('iso', false, async () => undefined),
  ];
  return planOfStages({ stages, dir: tmp.path, repoDir: join(tmp.path, 'repo'), name: 'fake' });
}

/** Every entry of a tree: path, type, mode, size, mtime and content digest. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const p = join(dir, name);
    const st = await lstat(p);
    const digest = st.isFile()
      ? createHash('sha256')
          .update(await readFile(p))
          .digest('hex')
      : '';
    out.push(`${name} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${digest}`);
  }
  return out;
}

test('the default stage is the last one that changes the root', () => {
  expect(defaultShellStage(fakePlan())).toBe('staging');
});

test("a command runs in the cached stage's root; its exit status comes back and the cache entry is unchanged", async () => {
  const { final } = await runPipeline(fakePlan(), logger);
  const root = final.rootfs;
  expect(root.startsWith(join(tmp.path, 'cache') + '/')).toBe(true); // the cache entry itself
  const before = await snapshot(root);
  expect(before.length).toBeGreaterThan(3);
  const run = (script: string) =>
    runInRoot(root, ['busybox', 'sh', '-c', script], { inherit: false, label: 'fake:staging', logger });

  const write = await run('touch /etc/x; ls /etc/x; touch /x; echo > /usr/bin/busybox; cat /etc/staged');
  expect(write.exitCode).toBe(0);
  expect(write.all).toContain('staged');
  expect(write.all).toMatch(/touch: \/etc\/x: Read-only file system/);
  expect(await snapshot(root)).toEqual(before);

  expect((await run('exit 7')).exitCode).toBe(7);
  // A throwaway /tmp, fresh /proc and /dev, and none of the host's files.
  const inside = await run(
    `touch /tmp/t && test -e /proc/self/stat && test -c /dev/null && ! test -e ${tmp.path} && ! test -e /home && echo sandboxed`,
  );
  expect(inside).toMatchObject({ exitCode: 0, stdout: 'sandboxed\n' });
  expect(await snapshot(root)).toEqual(before);
});

test('without a command: the root’s shell, else `busybox sh` for a busybox without applet links', async () => {
  const { final } = await runPipeline(fakePlan(), logger);
  expect(await commandInRoot(final.rootfs, [])).toEqual(['/bin/busybox', 'sh']);
  const empty = join(tmp.path, 'empty');
  await mkdir(empty);
  await expect(commandInRoot(empty, [])).rejects.toThrow(
    /the root has no shell \(tried .*\): give a command after --/,
  );
});

describe('a root without the command (a minimised one)', () => {
  const choose = async (argv: string[], explicit: boolean) => {
    const plan = fakePlan({ minimise: true });
    const result = await runPipeline(plan, logger);
    return chooseShellRoot({
      plan,
      result,
      stage: 'minimise',
      explicit,
      argv,
      suggest: (s) => `isobuild shell fake --stage ${s}`,
    });
  };

  test('by default the deepest earlier root that has it opens, and the note says so', async () => {
    const chosen = await choose(['busybox', 'sh', '-c', 'cat /etc/staged'], false);
    expect(chosen).toMatchObject({ stage: 'staging', command: ['busybox', 'sh', '-c', 'cat /etc/staged'] });
    expect(chosen.note).toBe(
      'the minimise root has no `busybox` (PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin): opening the staging root, the deepest of this target that has it (--stage to choose)',
    );
    const ran = await runInRoot(chosen.root, chosen.command, { inherit: false, label: 'fake', logger });
    expect(ran).toMatchObject({ exitCode: 0, stdout: 'staged\n' });
    expect(await choose([], false)).toMatchObject({ stage: 'staging', command: ['/bin/busybox', 'sh'] });
  });

  test('asked for with --stage: an error naming the stage and the stage to open instead', async () => {
    await expect(choose(['sh', '-c', 'true'], true)).rejects.toThrow(
      "the minimise root of fake has no `sh` (PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) (a minimised root keeps only what the image runs); open an earlier stage's root: isobuild shell fake --stage staging",
    );
  });

  test('a root that has the command opens as asked; a file that is no program is not a command', async () => {
    const plan = fakePlan();
    const result = await runPipeline(plan, logger);
    const choose = (argv: string[]) =>
      chooseShellRoot({ plan, result, stage: 'staging', explicit: true, argv, suggest: (s) => s });
    expect(await choose(['busybox', 'true'])).toEqual({
      stage: 'staging',
      root: result.final.rootfs,
      command: ['busybox', 'true'],
    });
    await expect(choose(['/etc/staged'])).rejects.toThrow(/the staging root of fake has no `\/etc\/staged`/);
  });
});
