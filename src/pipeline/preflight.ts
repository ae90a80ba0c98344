import { checkTools, type ToolNeed } from '../exec/host-tools.js';
import { packageManagerFor } from '../pm/index.js';
import type { BuildPlan } from '../stage/types.js';

/** Every host tool the plan will run, with why: checked before any work starts. */
export function toolsForPlan(plan: BuildPlan): ToolNeed[] {
  const pm = packageManagerFor(plan.spec.packagemanager);
  return [...pm.tools(plan.spec), ...plan.stages.flatMap((stage) => stage.commands(stage.inputs(plan)))];
}

export async function preflight(plan: BuildPlan): Promise<void> {
  await checkTools(toolsForPlan(plan));
}
