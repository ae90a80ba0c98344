import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import type { Logger } from '../../src/log/logger.js';
import type { BuildPlan, StageContext, StageMeta, StageName, Target } from '../../src/stage/types.js';
import { hookInputsOf, type HookInputs } from '../../src/hooks/run-hook.js';
import { keyContextOf, keyInputsOf } from '../../src/pipeline/stage-keys.js';
import type { CacheInputs, Stage } from '../../src/stage/types.js';
import type { ResolvedSpec } from '../../src/spec/types.js';
import { targetPlanFields } from '../../src/stage/targets.js';

/** A logger that remembers what it was told, for asserting warnings and sizes. */
export function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const say = (level: string) => (msg: string) => void lines.push({ level, msg });
  return {
    lines,
    debug: say('debug'),
    info: say('info'),
    warn: say('warn'),
    error: say('error'),
    event() {},
    output() {},
    attachFile() {},
    async detachFile() {},
  };
}

/** The spec fields the drivers and tether stages read, with Debian 12's values as defaults. */
export function makeSpec(over: Partial<ResolvedSpec> = {}): ResolvedSpec {
  return {
    name: 'test-repo',
    repoDir: '/nonexistent',
    specFile: '/nonexistent/repo-spec.json',
    packagemanager: 'apt',
    arch: 'amd64',
    kernel: { kind: 'package', name: 'linux-image-cloud-amd64' },
    init: '/bin/init',
    release: 'bookworm',
    packages: { base: [], bootstrap: [], appliance: [] },
    stagingScript: { bootstrap: [], appliance: [] },
    repoFiles: [],
    gpgKeys: [],
    apt: { variant: 'minbase', components: ['main'] },
    hooks: {},
    drivers: { common: true, repo: [], spec: [] },
    modules: 'all',
    kernelInstall: 'files',
    bootstrapInitrd: 'small',
    docs: false,
    locales: [],
    unowned: 'list',
    packageListsMaxAge: 86400,
    compression: 'zstd',
    boot: { bios: true, uefi: true },
    uki: false,
    cmdline: '',
    microvm: { vcpus: 1, memory: 256, cmdline: '' },
    tests: [],
    budget: {},
    profile: 'isobuild',
    raw: { name: 'test-repo' } as ResolvedSpec['raw'],
    ...over,
  };
}

/**
 * A bootstrap plan of a test's own small stages over a repo folder, with its cache and bin/
 * under `dir`: for tests of the runner, the cache and the commands around them.
 */
export function planOfStages(o: {
  stages: Stage[];
  dir: string;
  repoDir: string;
  name?: string;
  cache?: string;
  options?: Partial<BuildPlan['options']>;
}): BuildPlan {
  return {
    spec: {
      name: o.name ?? 'demo',
      repoDir: o.repoDir,
      packagemanager: 'apt',
      arch: 'amd64',
      budget: {},
      tests: [],
    } as unknown as ResolvedSpec,
    ...targetPlanFields('bootstrap'),
    stages: o.stages,
    outputs: [],
    options: {
      cacheRoot: join(o.dir, o.cache ?? 'cache'),
      outputDir: join(o.dir, 'bin'),
      noCache: false,
      lockTimeout: 5,
      sourceDateEpoch: 0,
      ...o.options,
    },
  };
}

/** A hand-built StageContext with the plan and spec a test made it from. */
export type TestStageContext = StageContext & { readonly plan: BuildPlan; readonly spec: ResolvedSpec };

/** Runs a stage as the pipeline would: with the inputs it picks from the context's plan. */
export function runStageWith(stage: Stage, ctx: TestStageContext): Promise<void> {
  return stage.run(ctx, stage.inputs(ctx.plan));
}

/** What a stage's key is made of for a plan, as the pipeline computes it. */
export function stageCacheInputs(stage: Stage, plan: BuildPlan): Promise<CacheInputs> {
  return keyInputsOf(stage, stage.inputs(plan), keyContextOf(plan));
}

/** The inputs the pipeline would give runHook for this hook file in the context's repo. */
export function hookFor(
  ctx: { spec: ResolvedSpec; plan: Pick<BuildPlan, 'flavour'> },
  kind: 'base' | 'staging',
  file: string,
): HookInputs {
  const spec = { ...ctx.spec, hooks: { ...ctx.spec.hooks, [kind]: file } };
  return (kind === 'base' ? hookInputsOf(spec, 'base') : hookInputsOf(spec, 'staging', ctx.plan.flavour))!;
}

export function toolsOf(stage: Stage, plan: BuildPlan) {
  return stage.commands(stage.inputs(plan));
}

export function describeOf(stage: Stage, plan: BuildPlan): string[] {
  return stage.describe(stage.inputs(plan));
}

/**
 * A StageContext built by hand (the pipeline runner builds the real one): the stage works on
 * `rootfs` in place and its commands go through the real runner.
 */
export function makeContext(opts: {
  stage: StageName;
  rootfs: string;
  bootfs?: string;
  artifacts?: string;
  tmpDir: string;
  spec: ResolvedSpec;
  meta?: StageMeta;
  target?: Target;
  tether?: string;
  logger?: Logger;
}): TestStageContext {
  const logger = opts.logger ?? recordingLogger();
  const target = opts.target ?? 'bootstrap';
  const plan: BuildPlan = {
    spec: opts.spec,
    ...targetPlanFields(target),
    stages: [],
    outputs: [],
    options: {
      cacheRoot: opts.tmpDir,
      outputDir: opts.tmpDir,
      noCache: true,
      tether: opts.tether,
      lockTimeout: 0,
      sourceDateEpoch: 0,
    },
  };
  return {
    plan,
    spec: opts.spec,
    stage: opts.stage,
    sourceDateEpoch: plan.options.sourceDateEpoch,
    listsMaxAge: opts.spec.packageListsMaxAge,
    rootfs: opts.rootfs,
    bootfs: opts.bootfs ?? opts.tmpDir,
    artifacts: opts.artifacts ?? opts.tmpDir,
    tmpDir: opts.tmpDir,
    pkgCacheDir: opts.tmpDir,
    meta: opts.meta ?? {},
    logger,
    run: (file, args, runOpts) => run(file, args, { stage: opts.stage, logger, ...runOpts }),
  };
}

/**
 * The StageContext a hook runs with, made by hand (no pipeline is needed to run one): the
 * iso-base stage of a repo `demo` in `repoDir` with raw spec `raw`, working in `work`'s rootfs,
 * bootfs and tmp folders (made here).
 */
export async function hookStageContext(
  repoDir: string,
  work: string,
  raw: object = {},
): Promise<{ ctx: TestStageContext; logger: ReturnType<typeof recordingLogger> }> {
  for (const d of [repoDir, join(work, 'rootfs'), join(work, 'bootfs'), join(work, 'tmp')])
    await mkdir(d, { recursive: true });
  const logger = recordingLogger();
  const ctx = {
    plan: { flavour: 'bootstrap', options: { sourceDateEpoch: 0 } },
    spec: {
      name: 'demo',
      repoDir,
      packagemanager: 'apt',
      arch: 'amd64',
      budget: {},
      tests: [],
      raw,
    } as unknown as ResolvedSpec,
    stage: 'iso-base',
    sourceDateEpoch: 0,
    rootfs: join(work, 'rootfs'),
    bootfs: join(work, 'bootfs'),
    artifacts: join(work, 'artifacts'),
    tmpDir: join(work, 'tmp'),
    meta: {},
    logger,
    run: (file: string, args: readonly string[], opts?: object) =>
      run(file, args, { stage: 'iso-base', logger, ...opts }),
  } as unknown as TestStageContext;
  return { ctx, logger };
}
