import type { StageSources } from '../stage/types.js';
import { packageManagerOf, type PackageInputs } from '../pm/pm-context.js';

/** The sources of a stage that runs the package manager: the adapter's, plus the stage's own files. */
export async function packageSources(
  inputs: PackageInputs,
  files: readonly (string | undefined)[] = [],
): Promise<StageSources> {
  const pm = await packageManagerOf(inputs).sources(inputs.pm);
  return {
    files: [...pm.files, ...files.filter((f): f is string => f !== undefined)],
    ...(pm.facts ? { facts: pm.facts } : {}),
  };
}
