import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { UndeclaredToolError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log/logger.js';
import { runPipeline } from '../../../src/pipeline/run-pipeline.js';
import { declaredHostFiles, declaredToolVersions, describeCommands } from '../../../src/stage/commands.js';
import { defineStage, type Stage } from '../../../src/stage/types.js';
import type { DeclaredTool } from '../../../src/exec/host-tools.js';
import { planOfStages } from '../../helpers/stage-context.js';

// A real pipeline run of a stage of the test's own: what ctx.run lets through is decided by
// the stage's declared commands, before anything runs.
let tmp: DirectoryResult;
let repoDir: string;

beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  repoDir = join(tmp.path, 'repos', 'demo');
  await mkdir(repoDir, { recursive: true });
  await writeFile(join(repoDir, 'input.txt'), 'x\n');
});
afterEach(() => tmp.cleanup());

function stageRunning(commands: DeclaredTool[], file: string, args: string[]): Stage {
  return defineStage<{ file: string }>({
    name: 'iso-base',
    version: 1,
    mutatesRoot: true,
    applies: () => true,
    commands: () => commands,
    inputs: () => ({ file }),
    sources: async () => ({ files: [join(repoDir, 'input.txt')] }),
    describe: () => [],
    run: async (ctx) => void (await ctx.run(file, args)),
  });
}

const BASH: DeclaredTool = { tool: 'bash', reason: 'write the marker', version: ['--version'] };

test('ctx.run refuses a tool the stage did not declare, and the tool never runs', async () => {
  const marker = join(tmp.path, 'ran');
  const stage = stageRunning([BASH], 'touch', [marker]);
  const plan = planOfStages({ stages: [stage], dir: tmp.path, repoDir });
  const err = await runPipeline(plan, silentLogger).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UndeclaredToolError);
  expect((err as UndeclaredToolError).tool).toBe('touch');
  expect((err as UndeclaredToolError).declared).toEqual(['bash']);
  expect((err as Error).message).toMatch(/^stage iso-base: ran touch, which the stage does not declare/);
  expect(existsSync(marker)).toBe(false);
});

test('ctx.run runs a declared tool, by name or by a path ending in its name', async () => {
  for (const file of ['bash', '/bin/bash']) {
    const marker = join(tmp.path, `ran-${file.length}`);
    const stage = stageRunning([BASH], file, ['-c', `echo > ${marker}`]);
    await runPipeline(planOfStages({ stages: [stage], dir: tmp.path, repoDir }), silentLogger);
    expect(existsSync(marker)).toBe(true);
  }
});

test("the key holds each declared tool's version once, and the content of declared host files", async () => {
  const hostFile = join(tmp.path, 'isolinux.bin');
  await writeFile(hostFile, 'boot');
  const commands = [
    BASH,
    { ...BASH, reason: 'again' },
    { tool: 'mount', reason: 'no version', version: 'none' },
    { tool: hostFile, reason: 'a host file', version: 'none' },
    { tool: join(tmp.path, 'absent.bin'), reason: 'a missing host file', version: 'none' },
  ] as DeclaredTool[];
  const versions = await declaredToolVersions(commands);
  expect(versions).toHaveLength(1);
  expect(versions[0]).toMatch(/^bash: GNU bash, version \d/);
  expect(await declaredHostFiles(commands)).toEqual([hostFile]);
  expect(describeCommands(commands)).toEqual(['# runs: bash, mount']);
});
