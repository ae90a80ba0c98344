import { checkTools, type ToolNeed } from '../exec/host-tools.js';
import type { Logger } from '../log/logger.js';
import { makePlan, planUpTo } from '../pipeline/plan.js';
import { preflight } from '../pipeline/preflight.js';
import { runPipeline, type PipelineResult } from '../pipeline/run-pipeline.js';
import { loadRepo } from '../spec/load.js';
import type { ResolvedSpec } from '../spec/types.js';
import type { BuildOptions, BuildPlan, Target } from '../stage/types.js';
import { loggerFor } from './events.js';
import { reposDirFor } from '../spec/repos-dir.js';
import { buildOptionsFor, type RepoRequest } from './request.js';

/** `buildStages(request)`: the stages of a target up to one stage, for its root (export, shell, lock). */
export interface StagesRequest extends RepoRequest {
  /** The target whose stages build the root. Default: 'bootstrap'. */
  target?: Target;
  /**
   * The stage whose root is wanted: a name, or one chosen from the target's full plan (`shell`'s
   * default). Default: the target's last stage.
   */
  stage?: string | ((plan: BuildPlan) => string);
  /** Host tools the caller will run on the root, checked with the plan's before any work. */
  tools?: readonly ToolNeed[];
}

/** A stage's root, built or taken from the cache. */
export interface StageRoot {
  spec: ResolvedSpec;
  /** The plan cut after `stage`. */
  plan: BuildPlan;
  stage: string;
  /** `result.final.rootfs` is the stage's root. */
  result: PipelineResult;
}

/** The request's repo, loaded and checked; its warnings go to the logger as `plan` and `build` print them. */
export function loadSpec(request: RepoRequest, logger: Logger): Promise<ResolvedSpec> {
  return loadRepo(request.repo, reposDirFor(request.reposDir), logger);
}

export async function buildStages(request: StagesRequest): Promise<StageRoot> {
  const logger = loggerFor(request);
  const spec = await loadSpec(request, logger);
  return buildStagesOf(spec, request, buildOptionsFor(request), logger);
}

/** buildStages for a spec already loaded: `lockRepo` builds three targets of one spec. */
export async function buildStagesOf(
  spec: ResolvedSpec,
  request: Omit<StagesRequest, keyof RepoRequest>,
  options: BuildOptions,
  logger: Logger,
): Promise<StageRoot> {
  const full = makePlan(spec, request.target ?? 'bootstrap', options);
  const wanted = request.stage;
  const stage = typeof wanted === 'function' ? wanted(full) : (wanted ?? full.stages.at(-1)!.name);
  const plan = wanted === undefined ? full : planUpTo(full, stage);
  await preflight(plan);
  if (request.tools?.length) await checkTools(request.tools);
  const result = await runPipeline(plan, logger);
  return { spec, plan, stage, result };
}
