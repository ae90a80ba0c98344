import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { defaultShellStage } from '../../../src/cli/shell.js';
import { commandInRoot, runInRoot } from '../../../src/exec/root-shell.js';
import { createLogger } from '../../../src/log/logger.js';
import { runPipeline } from '../../../src/pipeline/run-pipeline.js';
import { defineStage, type BuildPlan, type Stage, type StageName } from '../../../src/pipeline/types.js';
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
    tools: () => [],
    inputs: () => ({ name }),
    sources: async () => ({ files: [], toolVersions: [] }),
    describe: () => [],
    run: (ctx) => body(ctx.rootfs),
  });
}

/** iso-base: busybox (no applet links, as Debian's package), /etc; staging: a file; iso: nothing to the root. */
function fakePlan(): BuildPlan {
  const stages = [
    stage('iso-base', true, async (root) => {
      await mkdir(join(root, 'usr/bin'), { recursive: true });
      await mkdir(join(root, 'etc'));
      await copyFile(HOST_BUSYBOX, join(root, 'usr/bin/busybox'));
      await symlink('usr/bin', join(root, 'bin'));
    }),
    stage('staging', true, async (root) => writeFile(join(root, 'etc/staged'), 'staged\n')),
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
  await expect(commandInRoot(empty, [])).rejects.toThrow(/no shell in the root .*give a command after --/);
});
