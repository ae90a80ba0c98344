import { execa } from 'execa';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOutputs } from '../../src/image/outputs.js';
import { initrdStage } from '../../src/stages/initrd.js';
import { makeStageContext, makeTinyTrees, tinySpec } from '../integration/boot-fixtures.js';
import { CLI, processesWith, waitFor } from './fake-build.js';
import { runStageWith } from '../helpers/stage-context.js';
import { targetPlanFields } from '../../src/stage/targets.js';

// Fault rows "isobuild killed during `isobuild run`" and "qemu killed during run": the real
// `isobuild run` booting the tiny kernel+initrd of the boot tests (about 2 s under TCG), with a
// guest command that waits, so the kill lands while qemu runs.
const JEST_MS = 240_000;
let dir: string;
let folder: string;
let cache: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-fault-run-'));
  const { rootfs, bootfs } = await makeTinyTrees(dir);
  const artifacts = join(dir, 'artifacts');
  const ctx = await makeStageContext(
    'initrd',
    { rootfs, bootfs, artifacts, tmpDir: join(dir, 'tmp') },
    tinySpec({ compression: 'gzip' }),
  );
  await runStageWith(initrdStage, ctx);
  const plan = {
    ...ctx.plan,
    ...targetPlanFields('initrd'),
    options: { ...ctx.plan.options, outputDir: dir },
  };
  folder = (await writeOutputs(plan, { artifacts }))[0]!;
  cache = join(dir, 'cache');
}, JEST_MS);
afterAll(async () => {
  for (const pid of await processesWith(folder)) process.kill(pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const startRun = (...argv: string[]) =>
  execa('node', [CLI, 'run', '--timeout', '200', folder, '--', ...argv], {
    reject: false,
    all: true,
    env: { ISOBUILD_CACHE: cache },
  });
const qemuUp = async () => (await processesWith(join(folder, 'vmlinuz'))).length > 0;

test(
  'isobuild SIGKILLed during run: qemu goes with it; the next run removes the stale disk and console',
  async () => {
    const run = startRun('sleep', '120');
    await waitFor(qemuUp, 120_000);
    const stale = await readdir(join(cache, 'tmp'));
    expect(stale).toEqual([expect.stringMatching(/^run-\d+-[0-9a-f]{8}$/)]);
    run.kill('SIGKILL');
    await run;
    await waitFor(async () => !(await qemuUp()), 5000);
    // Nothing can clean up after a SIGKILL: the folder stays until the next run.
    expect(await readdir(join(cache, 'tmp'))).toEqual(stale);
    const next = await startRun('true');
    expect(next.exitCode).toBe(0);
    expect(await readdir(join(cache, 'tmp'))).toEqual([]);
  },
  JEST_MS,
);

test(
  'qemu killed during run: reported as killed by the signal, exit 1, nothing left',
  async () => {
    const run = startRun('sleep', '120');
    await waitFor(qemuUp, 120_000);
    for (const pid of await processesWith(join(folder, 'vmlinuz'))) process.kill(pid, 'SIGKILL');
    const res = await run;
    expect(res.exitCode).toBe(1);
    expect(res.all).toMatch(/isobuild run: the VM stopped \(qemu was killed by SIGKILL\) before ISOBUILD-/);
    expect(await readdir(join(cache, 'tmp'))).toEqual([]);
  },
  JEST_MS,
);

test(
  'Ctrl-C during run: exit 130 within 5 s, qemu gone, its disk removed',
  async () => {
    const run = startRun('sleep', '120');
    await waitFor(qemuUp, 120_000);
    const sent = Date.now();
    run.kill('SIGINT');
    const res = await run;
    expect(res.exitCode).toBe(130);
    expect(Date.now() - sent).toBeLessThan(5000);
    expect(await qemuUp()).toBe(false);
    expect(await readdir(join(cache, 'tmp'))).toEqual([]);
  },
  JEST_MS,
);
