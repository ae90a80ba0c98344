import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { silentLogger, type Logger } from '../../../src/log/logger.js';
import { cacheLayout, entryDir } from '../../../src/cache/cache.js';
import { describeValueChange, explainPlan, formatExplanation } from '../../../src/pipeline/explain.js';
import { runPipeline } from '../../../src/pipeline/run-pipeline.js';
import { defineStage, type BuildPlan, type Stage, type StageName } from '../../../src/stage/types.js';
import { planOfStages } from '../../helpers/stage-context.js';

// Real builds of small stages of the test's own (real files, real cache), then plan --explain's
// reading of that cache after one input changes.
let tmp: DirectoryResult;
let repoDir: string;
let values: Record<string, unknown>;
let binDir: string;
const savedPath = process.env.PATH;

/** Fake xorriso and busybox on PATH, printing these version lines (their sizes differ, so a new one is asked again). */
async function installTools(xorriso: string, busybox: string): Promise<void> {
  for (const [name, line] of [
    ['xorriso', xorriso],
    ['busybox', busybox],
  ] as const)
    await writeFile(join(binDir, name), `#!/bin/sh\necho '${line}'\n`, { mode: 0o755 });
}

beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  repoDir = join(tmp.path, 'repos', 'demo');
  await mkdir(repoDir, { recursive: true });
  await writeFile(join(repoDir, 'base.sh'), 'echo base\n');
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v1\n');
  values = { init: '/bin/init' };
  binDir = join(tmp.path, 'bin');
  await mkdir(binDir);
  process.env.PATH = `${binDir}:${savedPath}`;
  await installTools('xorriso 1.5.4', 'BusyBox v1.35.0 (Debian 1:1.35.0-4)');
});
afterEach(async () => {
  process.env.PATH = savedPath;
  await tmp.cleanup();
});

function fileStage(name: StageName, input: string | undefined, readsValues = false): Stage {
  return defineStage<Record<string, unknown>>({
    name,
    version: 1,
    mutatesRoot: true,
    applies: () => true,
    commands: () =>
      readsValues
        ? [
            { tool: 'xorriso', reason: 'test', version: ['-version'] },
            { tool: 'busybox', reason: 'test', version: ['--help'] },
          ]
        : [],
    inputs: () => (readsValues ? { ...values } : { name }),
    sources: async () => ({ files: input ? [join(repoDir, input)] : [] }),
    describe: () => [],
    run: async (ctx) => writeFile(join(ctx.rootfs, name), name),
  });
}

const STAGES = [
  fileStage('iso-base', 'base.sh'),
  fileStage('staging', 'staging.sh'),
  fileStage('minimise', undefined, true),
  fileStage('tether', undefined, true),
];

function plan(): BuildPlan {
  return planOfStages({ stages: STAGES, dir: tmp.path, repoDir });
}

const explain = async () =>
  (await explainPlan(plan(), cacheLayout(join(tmp.path, 'cache')))).map(formatExplanation);

test('an empty cache: every stage is built, because it has no entry', async () => {
  expect(await explain()).toEqual(
    ['iso-base', 'staging', 'minimise', 'tether'].map(
      (s) => `${s}: rebuild, because the cache has no entry of this stage for this repo`,
    ),
  );
});

test('after a build everything is cached, with the keys the build used', async () => {
  const built = await runPipeline(plan(), silentLogger);
  const explained = await explainPlan(plan(), cacheLayout(join(tmp.path, 'cache')));
  expect(explained.map((e) => [e.stage, e.key, e.status])).toEqual(
    built.outcomes.map((o) => [o.stage, o.key, 'cached']),
  );
});

test('a changed hook file is named, and the stages after it rebuild because of their parent', async () => {
  await runPipeline(plan(), silentLogger);
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v2\n');
  expect(await explain()).toEqual([
    'iso-base: cached',
    'staging: rebuild, because staging.sh changed',
    'minimise: rebuild, because its parent (staging) rebuilds',
    'tether: rebuild, because its parent (minimise) rebuilds',
  ]);
});

test('a changed value is named for every stage that reads it', async () => {
  await runPipeline(plan(), silentLogger);
  values = { init: '/sbin/other' };
  expect(await explain()).toEqual([
    'iso-base: cached',
    'staging: cached',
    'minimise: rebuild, because spec init changed (/bin/init → /sbin/other)',
    'tether: rebuild, because spec init changed (/bin/init → /sbin/other); its parent (minimise) rebuilds',
  ]);
});

test('the comparison is with the newest entry: going back to an older input is cached again', async () => {
  await runPipeline(plan(), silentLogger);
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v2\n');
  await runPipeline(plan(), silentLogger);
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v3\n');
  const explained = await explainPlan(plan(), cacheLayout(join(tmp.path, 'cache')));
  expect(formatExplanation(explained[1]!)).toBe('staging: rebuild, because staging.sh changed');
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v1\n');
  expect((await explain()).every((l) => l.endsWith(': cached'))).toBe(true);
});

test('an entry from an older isobuild (no inputs in its manifest) explains as unknown', async () => {
  const built = await runPipeline(plan(), silentLogger);
  const layout = cacheLayout(join(tmp.path, 'cache'));
  const manifestFile = join(entryDir(layout, 'demo', 'staging', built.outcomes[1]!.key), 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Record<string, unknown>;
  expect(manifest.inputs).toMatchObject({ files: { 'staging.sh': expect.stringMatching(/^[0-9a-f]{64}$/) } });
  delete manifest.inputs;
  await writeFile(manifestFile, JSON.stringify(manifest));
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v2\n');
  expect((await explain())[1]).toBe(
    'staging: rebuild, because inputs unknown (entry from an older isobuild)',
  );
});

test('a stage before a cached one is not needed', async () => {
  const built = await runPipeline(plan(), silentLogger);
  await rm(entryDir(cacheLayout(join(tmp.path, 'cache')), 'demo', 'staging', built.outcomes[1]!.key), {
    recursive: true,
  });
  // The later entries own their copies of the root (every stage here mutates it).
  expect(await explain()).toEqual([
    'iso-base: cached',
    'staging: not cached, not needed (a later stage is cached)',
    'minimise: cached',
    'tether: cached',
  ]);
});

test('a changed tool is named, and an entry built on another parent says so', async () => {
  await runPipeline(plan(), silentLogger);
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v2\n');
  await runPipeline(plan(), silentLogger);
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v1\n');
  await installTools('xorriso 1.5.16', 'BusyBox v1.36.10 (Debian 1:1.36.1-9)');
  expect(await explain()).toEqual([
    'iso-base: cached',
    'staging: cached',
    'minimise: rebuild, because tool versions changed (busybox, xorriso); the entry compared with was built on another staging entry',
    'tether: rebuild, because tool versions changed (busybox, xorriso); its parent (minimise) rebuilds',
  ]);
});

test('the build says why it builds a stage again over an older entry, in its start line and event', async () => {
  await runPipeline(plan(), silentLogger);
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging v2\n');
  const lines: string[] = [];
  const starts: unknown[] = [];
  const recording: Logger = {
    ...silentLogger,
    event(ev, human) {
      if (ev.type === 'stage' && ev.status === 'start') starts.push(ev);
      if (human) lines.push(human);
    },
  };
  await runPipeline(plan(), recording);
  // Only the stage with a reason of its own says it: the later ones rebuild because of their parent.
  expect(lines.filter((l) => l.includes('rebuilds:'))).toEqual([
    '[2/4] staging... (rebuilds: staging.sh changed)',
  ]);
  expect(starts).toContainEqual(
    expect.objectContaining({ stage: 'staging', reasons: ['staging.sh changed'] }),
  );
  expect(starts).toContainEqual(expect.not.objectContaining({ reasons: expect.anything() }));
});

test.each([
  ['packages', ['bash', 'curl'], ['bash', 'wget'], ['spec packages changed (+wget, -curl)']],
  [
    'pm',
    { base: ['a'], release: 'bookworm' },
    { base: ['a', 'b'], release: 'trixie' },
    ['spec pm.base changed (+b)', 'spec pm.release changed (bookworm → trixie)'],
  ],
  ['lock', undefined, { packages: [{ name: 'a' }] }, ['spec lock is new']],
  [
    'lock',
    { packages: [{ name: 'a', version: '1' }] },
    { packages: [{ name: 'a', version: '2' }] },
    ['spec lock.packages changed'],
  ],
  ['script', ['erase', 'toybox'], ['toybox', 'erase'], ['spec script changed (order)']],
])('a changed %s is described down to what changed in it', (name, was, now, expected) => {
  expect(describeValueChange(name, was, now)).toEqual(expected);
});

test('after `lock` built both flavours, the comparison is with the same flavour: the lock is named, not the flavour', async () => {
  values = { flavour: 'bootstrap', init: '/bin/init' };
  await runPipeline(plan(), silentLogger);
  // lock builds the other flavour last: its entries are the newest.
  values = { flavour: 'appliance', init: '/bin/init' };
  await runPipeline(plan(), silentLogger);
  values = { flavour: 'bootstrap', init: '/bin/init', lock: { packages: ['busybox 1:1.35.0-4 amd64'] } };
  expect((await explain()).slice(2)).toEqual([
    'minimise: rebuild, because spec lock is new',
    'tether: rebuild, because spec lock is new; its parent (minimise) rebuilds',
  ]);
});

test("a near-copy repo uses another repo's entries of the same key, and both the build and explain say whose", async () => {
  await runPipeline(plan(), silentLogger);
  // A copy of the repo under another name (the stages read the same folder), with its staging.sh
  // changed: iso-base keeps its key.
  await writeFile(join(repoDir, 'staging.sh'), 'echo staging of the copy\n');
  const copy = planOfStages({ stages: STAGES, dir: tmp.path, repoDir, name: 'copy' });
  const layout = cacheLayout(join(tmp.path, 'cache'));
  expect((await explainPlan(copy, layout)).map(formatExplanation)).toEqual([
    'iso-base: cached (made by repo demo)',
    'staging: rebuild, because the cache has no entry of this stage for this repo',
    'minimise: rebuild, because the cache has no entry of this stage for this repo',
    'tether: rebuild, because the cache has no entry of this stage for this repo',
  ]);
  const lines: string[] = [];
  const hits: unknown[] = [];
  const recording: Logger = {
    ...silentLogger,
    event(ev, human) {
      if (ev.type === 'stage' && ev.status === 'hit') hits.push(ev);
      if (human) lines.push(human);
    },
  };
  const built = await runPipeline(copy, recording);
  expect(built.outcomes.map((o) => o.status)).toEqual(['hit', 'built', 'built', 'built']);
  expect(lines).toContain('[1/4] iso-base: cached (made by repo demo)');
  expect(hits).toEqual([expect.objectContaining({ stage: 'iso-base', madeBy: 'demo' })]);
  // The copy's staging was built on demo's iso-base entry, and nothing of iso-base was written for the copy.
  expect(built.entries[0]!.dir).toBe(entryDir(layout, 'demo', 'iso-base', built.outcomes[0]!.key));
  expect(await readdir(layout.stages('copy'))).not.toContainEqual(expect.stringMatching(/^iso-base-/));
  // Its own entries are its own: explain says "cached" without a maker.
  expect((await explainPlan(copy, layout)).map(formatExplanation)).toEqual([
    'iso-base: cached (made by repo demo)',
    'staging: cached',
    'minimise: cached',
    'tether: cached',
  ]);
});

test("a damaged entry of another repo is not used and not removed: that repo's lock guards it", async () => {
  const first = await runPipeline(plan(), silentLogger);
  const isoBase = first.entries[0]!;
  await writeFile(join(isoBase.rootfs, 'iso-base'), 'changed');
  const copy = planOfStages({ stages: STAGES, dir: tmp.path, repoDir, name: 'copy' });
  const warnings: string[] = [];
  const built = await runPipeline(copy, { ...silentLogger, warn: (m) => warnings.push(m) });
  // tether's entry (the deepest) is demo's and intact: the copy uses it, nothing is rebuilt or read.
  expect(built.outcomes.map((o) => o.status)).toEqual(['hit', 'hit', 'hit', 'hit']);
  expect(warnings).toEqual([]);
  // --verify-cache reads every entry: iso-base is refused, left in place, and built for the copy.
  const verifying = planOfStages({
    stages: STAGES,
    dir: tmp.path,
    repoDir,
    name: 'copy',
    options: { verifyCache: true },
  });
  const again = await runPipeline(verifying, { ...silentLogger, warn: (m) => warnings.push(m) });
  expect(warnings).toEqual([
    expect.stringMatching(
      /^cache entry iso-base-\w+ of repo demo does not match its manifest .*: not used, rebuilding$/,
    ),
  ]);
  expect(again.outcomes.map((o) => o.status)).toEqual(['built', 'built', 'built', 'built']);
  expect(again.entries[0]!.repo).toBe('copy');
  expect(await readFile(join(isoBase.rootfs, 'iso-base'), 'utf8')).toBe('changed');
});
