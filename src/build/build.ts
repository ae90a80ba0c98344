import { placeKernelProblems, type DriverSite } from '../drivers/check.js';
import { KernelConfigError } from '../errors.js';
import { resolve } from 'node:path';
import { cacheLayout } from '../cache/cache.js';
import { checkTools } from '../exec/host-tools.js';
import { openDebugShell } from '../hooks/debug-shell.js';
import { loadSigningKey, writeInventories } from '../inventory/write-inventory.js';
import { loadLockForBuild } from '../lock/use-lock.js';
import type { Logger } from '../log/logger.js';
import type { RegistryStageCache } from '../cache/remote/registry-cache.js';
import { makePlan } from '../pipeline/plan.js';
import { preflight } from '../pipeline/preflight.js';
import { runPipeline, type PipelineResult } from '../pipeline/run-pipeline.js';
import type { ResolvedSpec } from '../spec/types.js';
import type { BuildOptions, BuildPlan, Target } from '../stage/types.js';
import { loadRepoCheckingDrivers, runsDriversStage } from './driver-check.js';
import { loggerFor } from './events.js';
import { checkMirror } from './mirror.js';
import { exportFinalRoot, writeTargetOutputs } from './outputs.js';
import { openRemoteCache, summariseRegistry } from './remote-cache.js';
import { writeReport } from './report.js';
import { reposDirFor } from '../spec/repos-dir.js';
import { sizeBudgetRows } from '../pipeline/budgets.js';
import { writeRunRecord } from '../report/run-record.js';
import { buildOptionsFor, type BuildRequest, type BuildResult, type BuiltOutput } from './request.js';

/** What the steps of one build share. */
interface BuildContext {
  request: BuildRequest;
  logger: Logger;
  spec: ResolvedSpec;
  /** Where init.sh and the spec ask for each driver: a kernel build's driver problems are placed there. */
  driverSites: readonly DriverSite[];
  target: Target;
  options: BuildOptions;
  plan: BuildPlan;
}

/**
 * Build a repo up to a target, as `isobuild build` does: plan, preflight, lock file, remote
 * cache, stages, outputs, manifest and SBOM, export. Everything it has to say goes to the
 * request's logger or `onEvent`; a failure is thrown as a typed error (src/errors.ts).
 */
export async function build(request: BuildRequest): Promise<BuildResult> {
  const context = await planBuild(request);
  await checkHostTools(context);
  // Before any stage: a key inside the repo folder or one that does not parse stops the build now.
  const signing = await loadSigningKey(request.signingKey ?? process.env.ISOBUILD_SIGNING_KEY, context.spec);
  await applyLockFile(context);
  const remote = await openRemoteCache(context.plan, request, context.logger);
  const started = Date.now();
  const result = await runStages(context, remote);
  const outputs = await writeTargetOutputs(context.plan, result, request.output, context.logger);
  await writeInventories(context.plan, result, outputs, context.logger, signing);
  await writeRunRecord(
    cacheLayout(resolve(context.plan.options.cacheRoot)),
    context.spec.name,
    result.outcomes,
  );
  const exported = request.exportTo
    ? await exportFinalRoot(context.plan, result, request.exportTo, context.logger)
    : undefined;
  const report = await writeBuildReport(context, outputs, result);
  return reportDone(context, {
    result,
    outputs,
    exported,
    report,
    remote,
    seconds: (Date.now() - started) / 1000,
  });
}

/** `report`: the HTML report of the first output, from the run record just written. */
async function writeBuildReport(
  context: BuildContext,
  outputs: BuiltOutput[],
  result: PipelineResult,
): Promise<string | undefined> {
  const { request, plan, logger } = context;
  const first = outputs[0];
  if (!request.report || !first) return undefined;
  const file = await writeReport({
    output: first.path,
    ...(typeof request.report === 'string' ? { file: request.report } : {}),
    cacheRoot: plan.options.cacheRoot,
    budgets: await sizeBudgetRows(plan, result.entries),
  });
  logger.event({ type: 'report', output: first.path, file }, `wrote report ${file}`);
  return file;
}

/**
 * Loads the repo with the spec warnings `plan` prints (a build is no place to hide them) and
 * plans it. A driver a cached kernel lacks stops the build here rather than at the drivers
 * stage after iso-base.
 */
async function planBuild(request: BuildRequest): Promise<BuildContext> {
  const logger = loggerFor(request);
  const target = request.target ?? 'bootstrap';
  const asked = buildOptionsFor(request);
  const { spec, drivers, sites } = await loadRepoCheckingDrivers(
    request.repo,
    reposDirFor(request.reposDir),
    logger,
    (s) => runsDriversStage(s, target),
    asked.cacheRoot,
    request.arch ? { arch: request.arch } : {},
  );
  if (drivers) logger.debug(`drivers ${drivers.note}`);
  const options = { ...asked, ...(await checkMirror(spec, request.mirror)) };
  return {
    request,
    logger,
    spec,
    driverSites: sites,
    target,
    options,
    plan: makePlan(spec, target, options),
  };
}

/** Every tool the build will run, before any work. */
async function checkHostTools(context: BuildContext): Promise<void> {
  await preflight(context.plan);
  if (context.request.debugShell)
    await checkTools([{ tool: 'bwrap', reason: '--debug-shell: sandbox the shell' }]);
}

/** `locked`: the plan again, with the repo's isobuild.lock for the package stages to install. */
async function applyLockFile(context: BuildContext): Promise<void> {
  if (!context.request.locked) return;
  const { spec, target, options, logger } = context;
  context.plan = makePlan(spec, target, {
    ...options,
    locked: await loadLockForBuild(spec, options, logger),
  });
}

function runStages(context: BuildContext, remote: RegistryStageCache | undefined): Promise<PipelineResult> {
  const { logger } = context;
  return runPipeline(context.plan, logger, {
    remote,
    ...(context.request.debugShell ? { onStageFailure: (failure) => openDebugShell(failure, logger) } : {}),
  }).catch((err: unknown) => {
    throw err instanceof KernelConfigError ? placeKernelProblems(err, context.driverSites) : err;
  });
}

/** The `done` event, and the result handed back. */
function reportDone(
  context: BuildContext,
  o: {
    result: PipelineResult;
    outputs: BuiltOutput[];
    exported: string | undefined;
    report: string | undefined;
    remote: RegistryStageCache | undefined;
    seconds: number;
  },
): BuildResult {
  const { spec, plan, logger } = context;
  const { outcomes } = o.result;
  const built = outcomes.filter((x) => x.status === 'built').length;
  const registry = o.remote && summariseRegistry(outcomes, o.remote);
  logger.event(
    {
      type: 'done',
      repo: spec.name,
      target: plan.target,
      seconds: o.seconds,
      stagesBuilt: built,
      registry: o.remote?.stats,
    },
    `${spec.name} ${plan.target}: done in ${o.seconds.toFixed(1)} s (${built} of ${outcomes.length} stages built${registry ? `; ${registry}` : ''})`,
  );
  return {
    repo: spec.name,
    target: plan.target,
    outputs: o.outputs,
    ...(o.exported ? { exported: o.exported } : {}),
    ...(o.report ? { report: o.report } : {}),
    outcomes,
    seconds: o.seconds,
    ...(o.remote ? { registry: o.remote.stats } : {}),
  };
}
