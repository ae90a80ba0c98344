import { UsageError } from '../errors.js';
import { describeCommands } from '../stage/commands.js';
import type { ResolvedSpec } from '../spec/types.js';
import { PIPELINE } from './stages.js';
import { defaultOutputPath, TARGET_TABLE, targetPlanFields } from '../stage/targets.js';
import { type BuildOptions, type BuildPlan, type OutputFormat, type Target } from '../stage/types.js';

/**
 * Compile a resolved spec and a target into the ordered list of stages that will run.
 * Pure: nothing is touched on disk, so `isobuild plan` can show it.
 */
export function makePlan(spec: ResolvedSpec, target: Target, options: BuildOptions): BuildPlan {
  if (target === 'app' && !spec.app)
    throw new UsageError(
      `repo ${spec.name} has no "app" section; the app target needs one (see docs/app.md)`,
    );
  const last = PIPELINE.findIndex((s) => s.name === TARGET_TABLE[target].lastStage);
  const draft: BuildPlan = {
    spec,
    ...targetPlanFields(target, options.formats),
    stages: [],
    options: Object.freeze({ ...options }),
  };
  const stages = PIPELINE.slice(0, last + 1).filter((s) => s.applies(draft));
  return Object.freeze({ ...draft, stages: Object.freeze(stages) });
}

/** The plan cut after `stage`, for commands that want a stage's root (export). */
export function planUpTo(plan: BuildPlan, stage: string): BuildPlan {
  const index = plan.stages.findIndex((s) => s.name === stage);
  if (index < 0)
    throw new UsageError(
      `stage "${stage}" is not part of the ${plan.target} build of ${plan.spec.name}; its stages: ${plan.stages.map((s) => s.name).join(', ')}`,
    );
  return Object.freeze({ ...plan, stages: Object.freeze(plan.stages.slice(0, index + 1)), outputs: [] });
}

export interface PlanDescription {
  repo: string;
  target: Target;
  /** The target's one-line description (targets.ts). */
  description: string;
  flavour: string;
  outputs: readonly OutputFormat[];
  /** Each output's default path (under the output folder, bin/ unless `--bin` says otherwise). */
  paths: Partial<Record<OutputFormat, string>>;
  stages: { name: string; commands: string[] }[];
}

export function describePlan(plan: BuildPlan): PlanDescription {
  return {
    repo: plan.spec.name,
    target: plan.target,
    description: TARGET_TABLE[plan.target].description,
    flavour: plan.app ? 'app' : plan.flavour,
    outputs: plan.outputs,
    paths: Object.fromEntries(plan.outputs.map((f) => [f, defaultOutputPath(plan, f)])),
    stages: plan.stages.map((s) => {
      const inputs = s.inputs(plan);
      // The commands the stage declares, then what it does with them.
      return { name: s.name, commands: [...describeCommands(s.commands(inputs)), ...s.describe(inputs)] };
    }),
  };
}
