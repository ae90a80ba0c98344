import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { RefusedEntryError } from '../../../src/errors.js';
import { run } from '../../../src/exec/run.js';
import { createLogger, type Logger } from '../../../src/log/logger.js';
import { runPipeline } from '../../../src/pipeline/run-pipeline.js';
import {
  defineStage,
  type BuildPlan,
  EntryFiles,
  RemoteStageCache,
  Stage,
  StageLink,
  StageMeta,
  StageName,
} from '../../../src/stage/types.js';
import { planOfStages } from '../../helpers/stage-context.js';

// How the pipeline uses a remote cache, with a stand-in remote kept in a folder (the registry
// itself is tested against a real docker-registry in test/integration/registry-cache.test.ts).
let tmp: DirectoryResult;
let runs: string[];
let warnings: string[];
let logger: Logger;

beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  await mkdir(join(tmp.path, 'repo'));
  runs = [];
  warnings = [];
  const base = createLogger({
    quiet: true,
    stream: { write: () => true } as unknown as NodeJS.WritableStream,
  });
  logger = { ...base, warn: (m: string) => warnings.push(m) };
});
afterEach(() => tmp.cleanup());

const NAMES: StageName[] = ['iso-base', 'staging', 'tether'];

function stage(name: StageName): Stage {
  return defineStage<{ name: string }>({
    name,
    version: 1,
    mutatesRoot: true,
    applies: () => true,
    commands: () => [],
    inputs: () => ({ name }),
    sources: async () => ({ files: [] }),
    describe: () => [],
    async run(ctx) {
      runs.push(name);
      await writeFile(join(ctx.rootfs, name), name);
      await writeFile(join(ctx.artifacts, `${name}.txt`), name);
    },
  });
}

function plan(cache: string): BuildPlan {
  return planOfStages({ stages: NAMES.map(stage), dir: tmp.path, repoDir: join(tmp.path, 'repo'), cache });
}

/**
 * A remote that keeps entries as folders; `failPull` makes every pull fail, `refuse` refuses
 * those stages' entries as a registry refuses a tampered blob.
 */
function folderRemote(opts: { failPull?: boolean; refuse?: StageName[] } = {}) {
  const store = join(tmp.path, 'remote');
  const calls: string[] = [];
  const remote: RemoteStageCache = {
    name: 'folder',
    async findDeepest(links: readonly StageLink[]) {
      const have = new Set(await readdir(store).catch(() => []));
      calls.push(`find ${links.map((l) => l.stage).join(',')}`);
      for (let i = links.length - 1; i >= 0; i--) if (have.has(links[i]!.key)) return i;
      return -1;
    },
    async pull(link: StageLink, work: string): Promise<StageMeta> {
      calls.push(`pull ${link.stage}`);
      if (opts.failPull) throw new Error('cannot reach the registry');
      if (opts.refuse?.includes(link.stage))
        throw new RefusedEntryError(`folder:${link.stage}`, 'content digest is sha256:0, expected sha256:1');
      for (const tree of ['rootfs', 'bootfs', 'artifacts'])
        await cp(join(store, link.key, tree), join(work, tree), { recursive: true });
      return JSON.parse(await readFile(join(store, link.key, 'meta.json'), 'utf8')) as StageMeta;
    },
    async push(link: StageLink, entry: EntryFiles) {
      calls.push(`push ${link.stage}`);
      const dest = join(store, link.key);
      await cp(entry.rootfs, join(dest, 'rootfs'), { recursive: true });
      await cp(entry.bootfs, join(dest, 'bootfs'), { recursive: true });
      await cp(entry.artifacts, join(dest, 'artifacts'), { recursive: true });
      await writeFile(join(dest, 'meta.json'), JSON.stringify(entry.meta));
    },
  };
  return { remote, calls };
}

test('a cold build pushes every stage it builds; an empty cache then pulls only the last one', async () => {
  const a = folderRemote();
  const first = await runPipeline(plan('cache-a'), logger, { remote: a.remote });
  expect(first.outcomes.map((o) => o.status)).toEqual(['built', 'built', 'built']);
  expect(a.calls).toEqual(['find iso-base,staging,tether', 'push iso-base', 'push staging', 'push tether']);

  runs = [];
  const b = folderRemote();
  const second = await runPipeline(plan('cache-b'), logger, { remote: b.remote });
  expect(runs).toEqual([]);
  expect(second.outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped', 'pulled']);
  expect(b.calls).toEqual(['find iso-base,staging,tether', 'pull tether']);
  expect(await readdir(second.final.rootfs)).toEqual(['iso-base', 'staging', 'tether']);
  expect((await readdir(join(tmp.path, 'cache-b/stages/demo'))).map((d) => d.replace(/-\w+$/, ''))).toEqual([
    'tether',
  ]);
  expect(warnings).toEqual([]);
});

test('the remote is asked only about stages after the deepest local one', async () => {
  await runPipeline(plan('cache-a'), logger, { remote: folderRemote().remote });
  // cp -a: entries are checked against their manifests, mtimes to the nanosecond included.
  await run('cp', ['-a', join(tmp.path, 'cache-a'), join(tmp.path, 'cache-c')]);
  const stages = join(tmp.path, 'cache-c/stages/demo');
  for (const d of await readdir(stages))
    if (d.startsWith('tether-')) await rm(join(stages, d), { recursive: true });
  const c = folderRemote();
  runs = [];
  const result = await runPipeline(plan('cache-c'), logger, { remote: c.remote });
  expect(c.calls[0]).toBe('find tether');
  expect(result.outcomes.map((o) => o.status)).toEqual(['hit', 'hit', 'pulled']);
  expect(runs).toEqual([]);
  expect(warnings).toEqual([]);
});

test('a pull that fails is a warning, and the stages are built here', async () => {
  await runPipeline(plan('cache-a'), logger, { remote: folderRemote().remote });
  runs = [];
  const bad = folderRemote({ failPull: true });
  const result = await runPipeline(plan('cache-d'), logger, { remote: bad.remote });
  expect(warnings).toEqual(['tether from folder: cannot reach the registry; building it here']);
  expect(runs).toEqual(['iso-base', 'staging', 'tether']);
  expect(result.outcomes.map((o) => o.status)).toEqual(['built', 'built', 'built']);
  expect(await readdir(join(tmp.path, 'cache-d/tmp')).catch(() => [])).toEqual([]);
});

test('a refused entry costs only its own stage: the deepest intact entry below it is pulled', async () => {
  await runPipeline(plan('cache-a'), logger, { remote: folderRemote().remote });
  runs = [];
  const bad = folderRemote({ refuse: ['tether', 'staging'] });
  const result = await runPipeline(plan('cache-e'), logger, { remote: bad.remote });
  expect(warnings).toEqual([
    'tether from folder: folder:tether refused: content digest is sha256:0, expected sha256:1; building it here; looking for an intact entry below it',
    'staging from folder: folder:staging refused: content digest is sha256:0, expected sha256:1; building it here; looking for an intact entry below it',
  ]);
  expect(bad.calls.slice(0, 5)).toEqual([
    'find iso-base,staging,tether',
    'pull tether',
    'find iso-base,staging',
    'pull staging',
    'find iso-base',
  ]);
  expect(result.outcomes.map((o) => o.status)).toEqual(['pulled', 'built', 'built']);
  expect(runs).toEqual(['staging', 'tether']);
  expect(await readdir(result.final.rootfs)).toEqual(['iso-base', 'staging', 'tether']);
  expect(await readdir(join(tmp.path, 'cache-e/tmp')).catch(() => [])).toEqual([]);
});

test('--force: the last stage is neither pulled nor taken from the cache; the stage before it is pulled', async () => {
  await runPipeline(plan('cache-a'), logger, { remote: folderRemote().remote });
  const b = folderRemote();
  runs = [];
  const forced = { ...plan('cache-b'), options: { ...plan('cache-b').options, force: true } };
  const result = await runPipeline(forced, logger, { remote: b.remote });
  expect(b.calls).toEqual(['find iso-base,staging', 'pull staging', 'push tether']);
  expect(result.outcomes.map((o) => o.status)).toEqual(['skipped', 'pulled', 'built']);
  expect(runs).toEqual(['tether']);
  expect(warnings).toEqual([]);
});
