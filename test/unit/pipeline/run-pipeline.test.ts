import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { BuildError } from '../../../src/errors.js';
import { errorEvent } from '../../../src/log/events.js';
import { run } from '../../../src/exec/run.js';
import { silentLogger } from '../../../src/log/logger.js';
import { acquireLock } from '../../../src/cache/lock.js';
import { checkEntry } from '../../../src/cache/cache-integrity.js';
import { writeRootFile } from '../../../src/rootfs/write-in-root.js';
import { runPipeline } from '../../../src/pipeline/run-pipeline.js';
import { defineStage, type BuildPlan, type Stage, type StageName } from '../../../src/stage/types.js';
import { planOfStages } from '../../helpers/stage-context.js';
import { parseEvents } from '../../helpers/json-events.js';

// The runner is exercised with small stages of its own (real files, real cache, real locks);
// the real stages have their own integration tests.
let tmp: DirectoryResult;
let repoDir: string;
let runs: string[];

beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  repoDir = join(tmp.path, 'repos', 'demo');
  await mkdir(repoDir, { recursive: true });
  await writeFile(join(repoDir, 'base.sh'), 'echo base\n');
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v1\n');
  runs = [];
});
afterEach(() => tmp.cleanup());

function fileStage(
  name: StageName,
  input: string,
  opts: { fail?: boolean; mutatesRoot?: boolean } = {},
): Stage {
  return defineStage<{ name: string }>({
    name,
    version: 1,
    mutatesRoot: opts.mutatesRoot ?? true,
    applies: () => true,
    commands: () => (opts.fail ? [{ tool: 'bash', reason: 'fail on purpose', version: 'none' }] : []),
    inputs: () => ({ name }),
    sources: async () => ({ files: [join(repoDir, input)] }),
    describe: () => [],
    async run(ctx) {
      runs.push(name);
      if (opts.mutatesRoot === false) {
        const listing = (await readdir(ctx.rootfs)).sort().join(',');
        await writeFile(join(ctx.artifacts, `${name}.txt`), listing);
        return;
      }
      await writeFile(join(ctx.rootfs, name), await readFile(join(repoDir, input)));
      ctx.meta[`ran-${name}`] = true;
      if (opts.fail) {
        await ctx.run('bash', ['-c', 'echo some output; echo the reason >&2; exit 3']);
      }
    },
  });
}

function planWith(stages: Stage[], extra: Partial<BuildPlan['options']> = {}): BuildPlan {
  return planOfStages({ stages, dir: tmp.path, repoDir, options: extra });
}

test('a second identical build runs no stage, and a changed input reruns from its stage on', async () => {
  const stages = [
    fileStage('iso-base', 'base.sh'),
    fileStage('staging', 'staging.sh'),
    fileStage('initrd', 'base.sh', { mutatesRoot: false }),
  ];
  const first = await runPipeline(planWith(stages), silentLogger);
  expect(first.outcomes.map((o) => o.status)).toEqual(['built', 'built', 'built']);
  expect(await readFile(join(first.final.artifacts, 'initrd.txt'), 'utf8')).toBe('iso-base,staging');
  expect(first.final.meta).toMatchObject({ 'ran-iso-base': true, 'ran-staging': true });

  runs = [];
  const second = await runPipeline(planWith(stages), silentLogger);
  expect(second.outcomes.map((o) => o.status)).toEqual(['hit', 'hit', 'hit']);
  expect(runs).toEqual([]);

  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v2\n');
  const third = await runPipeline(planWith(stages), silentLogger);
  expect(third.outcomes.map((o) => o.status)).toEqual(['hit', 'built', 'built']);
  expect(runs).toEqual(['staging', 'initrd']);
  expect(await readFile(join(third.final.rootfs, 'staging'), 'utf8')).toBe('echo staging v2\n');
});

test('a stage cache copied elsewhere (cp -a) and the original gone is used as it is', async () => {
  const stages = [
    fileStage('iso-base', 'base.sh'),
    fileStage('staging', 'staging.sh'),
    // A read-only stage: its entry's trees are links to the parent entry's.
    fileStage('initrd', 'base.sh', { mutatesRoot: false }),
  ];
  await runPipeline(planWith(stages), silentLogger);
  const moved = join(tmp.path, 'elsewhere', 'cache');
  await mkdir(join(moved, '..'));
  await run('cp', ['-a', join(tmp.path, 'cache'), moved]);
  await rm(join(tmp.path, 'cache'), { recursive: true });
  runs = [];
  const again = await runPipeline(planWith(stages, { cacheRoot: moved }), silentLogger);
  expect(again.outcomes.map((o) => o.status)).toEqual(['hit', 'hit', 'hit']);
  expect(runs).toEqual([]);
  expect(again.final.rootfs.startsWith(moved)).toBe(true);
  expect(await readFile(join(again.final.artifacts, 'initrd.txt'), 'utf8')).toBe('iso-base,staging');
});

test('--no-cache runs every stage again', async () => {
  const stages = [fileStage('iso-base', 'base.sh')];
  await runPipeline(planWith(stages), silentLogger);
  const again = await runPipeline(planWith(stages, { noCache: true }), silentLogger);
  expect(again.outcomes.map((o) => o.status)).toEqual(['built']);
});

test('a failing stage names the stage, the command, the output tail and the log, and leaves no cache entry or temp folder', async () => {
  const stages = [fileStage('iso-base', 'base.sh'), fileStage('staging', 'staging.sh', { fail: true })];
  const err = await runPipeline(planWith(stages), silentLogger).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  const message = (err as Error).message;
  expect(message).toContain('stage staging: command failed (exit status 3)');
  expect(message).toContain("$ bash -c 'echo some output; echo the reason >&2; exit 3'");
  expect(message).toContain('the reason');
  expect(message).toMatch(/full log: .*logs\/demo\/staging\.log/);
  const cache = join(tmp.path, 'cache');
  // The error event carries the log's path as data.
  expect(errorEvent(err, 1)).toMatchObject({
    kind: 'command',
    stage: 'staging',
    logFile: join(cache, 'logs', 'demo', 'staging.log'),
  });
  expect(await readdir(join(cache, 'stages', 'demo'))).toEqual([expect.stringMatching(/^iso-base-/)]);
  expect(await readdir(join(cache, 'tmp'))).toEqual([]);
  expect(await readFile(join(cache, 'logs', 'demo', 'staging.log'), 'utf8')).toContain('the reason');
  // Every stage-log line carries its time.
  const logLines = (await readFile(join(cache, 'logs', 'demo', 'staging.log'), 'utf8')).trimEnd().split('\n');
  for (const l of logLines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
  expect(existsSync(join(cache, 'locks', 'demo.lock'))).toBe(false);
});

test('a second build of the same repo waits for the lock, and gives up with a clear message when told not to wait', async () => {
  const lock = await acquireLock(join(tmp.path, 'cache', 'locks'), 'demo', 0, silentLogger);
  const refused = await runPipeline(
    planWith([fileStage('iso-base', 'base.sh')], { lockTimeout: 0 }),
    silentLogger,
  ).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(BuildError);
  expect((refused as Error).message).toContain(`another build of demo is running (pid ${process.pid}`);

  const waiting = runPipeline(
    planWith([fileStage('iso-base', 'base.sh')], { lockTimeout: 10 }),
    silentLogger,
  );
  await new Promise((r) => setTimeout(r, 700));
  expect(runs).toEqual([]);
  await lock.release();
  await waiting;
  expect(runs).toEqual(['iso-base']);
});

test('a lock left by a dead process is taken over', async () => {
  const lockDir = join(tmp.path, 'cache', 'locks', 'demo.lock');
  await mkdir(lockDir, { recursive: true });
  await writeFile(join(lockDir, 'owner'), '999999\n');
  const result = await runPipeline(
    planWith([fileStage('iso-base', 'base.sh')], { lockTimeout: 0 }),
    silentLogger,
  );
  expect(result.outcomes[0]?.status).toBe('built');
});

/** A stage whose output is one file of fixed content and time, whatever its input file says. */
function constantStage(name: StageName, input: string, content: () => string): Stage {
  return defineStage<{ name: string }>({
    name,
    version: 1,
    mutatesRoot: true,
    applies: () => true,
    commands: () => [],
    inputs: () => ({ name }),
    sources: async () => ({ files: [join(repoDir, input)] }),
    describe: () => [],
    async run(ctx) {
      runs.push(name);
      const file = join(ctx.rootfs, name);
      await writeFile(file, content());
      await utimes(file, 1_700_000_000, 1_700_000_000);
    },
  });
}

test('early cutoff: a stage whose input changed but whose output did not leaves later stages cached', async () => {
  let content = 'same';
  const stages = [
    constantStage('iso-base', 'base.sh', () => content),
    fileStage('staging', 'staging.sh'),
    fileStage('initrd', 'staging.sh', { mutatesRoot: false }),
  ];
  const first = await runPipeline(planWith(stages), silentLogger);
  expect(first.outcomes.map((o) => o.status)).toEqual(['built', 'built', 'built']);

  await writeFile(join(repoDir, 'base.sh'), 'echo base v2\n');
  runs = [];
  const lines: string[] = [];
  const events: unknown[] = [];
  const logger = {
    ...silentLogger,
    event: (ev: unknown, human?: string) => {
      events.push(ev);
      if (human) lines.push(human);
    },
  };
  const second = await runPipeline(planWith(stages), logger);
  expect(runs).toEqual(['iso-base']);
  expect(second.outcomes.map((o) => o.status)).toEqual(['built', 'hit', 'hit']);
  expect(second.outcomes[0]!.key).not.toBe(first.outcomes[0]!.key);
  expect(second.final.key).toBe(first.final.key);
  expect(lines).toContainEqual(
    expect.stringMatching(
      /iso-base: built in .* \(inputs changed but output identical to [0-9a-f]{8}'s: later stages reused\)$/,
    ),
  );
  // --json prints these events: they keep to schemas/events.schema.json (a clean CI run once
  // failed on a sameOutputAs the schema did not name).
  const built = parseEvents(events.map((e) => JSON.stringify(e)).join('\n')).find(
    (e) => e.type === 'stage' && e.status === 'built',
  );
  expect(built?.sameOutputAs).toBe(first.outcomes[0]!.key);

  // The next build finds every key at once.
  runs = [];
  const third = await runPipeline(planWith(stages), silentLogger);
  expect(runs).toEqual([]);
  expect(third.final.key).toBe(first.final.key);

  // An output that does differ rebuilds what follows it.
  await writeFile(join(repoDir, 'base.sh'), 'echo base v3\n');
  content = 'other';
  runs = [];
  const fourth = await runPipeline(planWith(stages), silentLogger);
  expect(runs).toEqual(['iso-base', 'staging', 'initrd']);
  expect(fourth.final.key).not.toBe(first.final.key);
});

test('a stage that links its parent root (linksParentRoot) shares its files and leaves the parent entry as it was', async () => {
  const linking = defineStage<{ name: string }>({
    name: 'minimise',
    version: 1,
    mutatesRoot: true,
    linksParentRoot: true,
    applies: () => true,
    commands: () => [],
    inputs: () => ({ name: 'minimise' }),
    sources: async () => ({ files: [] }),
    describe: () => [],
    async run(ctx) {
      // Hard-linked, not copied: the same inode as the parent's file.
      const [{ ino: mine }, { ino: parents }] = await Promise.all([
        stat(join(ctx.rootfs, 'iso-base')),
        stat(join(parentRoot, 'iso-base')),
      ]);
      expect(mine).toBe(parents);
      // What such a stage may do: replace a file (remove, then write) and remove one.
      await writeRootFile(ctx.rootfs, '/iso-base', 'replaced\n', 0o644, 0);
      await rm(join(ctx.rootfs, 'staging'));
    },
  });
  let parentRoot = '';
  const stages = [fileStage('iso-base', 'base.sh'), fileStage('staging', 'staging.sh')];
  const first = await runPipeline(planWith(stages), silentLogger);
  parentRoot = first.final.rootfs;
  const built = await runPipeline(planWith([...stages, linking]), silentLogger);
  expect(built.outcomes.map((o) => o.status)).toEqual(['hit', 'hit', 'built']);
  expect(await readFile(join(built.final.rootfs, 'iso-base'), 'utf8')).toBe('replaced\n');
  expect(existsSync(join(built.final.rootfs, 'staging'))).toBe(false);
  // The parent entry still holds its own files, and matches its manifest.
  expect(await readFile(join(parentRoot, 'iso-base'), 'utf8')).toBe('echo base\n');
  expect(await readFile(join(parentRoot, 'staging'), 'utf8')).toBe('echo staging v1\n');
  expect(await checkEntry(first.final.dir, 'full')).toEqual([]);
});
