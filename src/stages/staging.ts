import type { DeclaredTool } from '../exec/host-tools.js';
import { hookInputsOf, hookTools, runHook, type HookInputs } from '../hooks/run-hook.js';
import { checkRootAgainstLock } from '../lock/use-lock.js';
import { withPackageCache } from '../cache/package-cache.js';
import { defineStage, type StageContext } from '../stage/types.js';
import { packageInputsOf, packageManagerOf, pmContextOf, type PackageInputs } from '../pm/pm-context.js';
import type { Flavour } from '../spec/types.js';
import { packageSources } from './package-sources.js';

interface StagingInputs extends PackageInputs {
  readonly flavour: Flavour;
  /** packages_script_staging.<flavour>, split into arguments. */
  readonly script: readonly string[];
  /** The flavour's packages and --extra-packages. */
  readonly packages: readonly string[];
  readonly hook?: HookInputs;
}

/**
 * staging (VIC's bootstrap-staging.sh / appliance-staging.sh): the flavour's
 * packages_script_staging, its packages, the repo's staging.sh, then the package caches out.
 */
async function runStaging(ctx: StageContext, inputs: StagingInputs): Promise<void> {
  const pm = packageManagerOf(inputs);
  const pmCtx = pmContextOf(ctx, inputs);
  await withPackageCache(ctx, async () => {
    if (inputs.script.length) {
      ctx.logger.info(`packages_script_staging.${inputs.flavour}: ${inputs.script.join(' ')}`);
      await pm.runScript(pmCtx, inputs.script);
    }
    if (inputs.packages.length) {
      ctx.logger.info(`installing ${inputs.packages.length} ${inputs.flavour} packages`);
      await pm.install(pmCtx, inputs.packages);
    }
    await checkRootAgainstLock(ctx, inputs);
  });
  if (inputs.hook) await runHook(ctx, inputs.hook);
  await pm.clean(pmCtx);
}

function stagingCommands(inputs: StagingInputs): DeclaredTool[] {
  const needs = [...packageManagerOf(inputs).tools(inputs.pm)];
  if (inputs.hook) needs.push(...hookTools(inputs.hook));
  return needs;
}

function describeStaging(inputs: StagingInputs): string[] {
  const pm = packageManagerOf(inputs);
  const lines = [
    ...pm.describe(inputs.pm, 'script', inputs.script),
    ...pm.describe(inputs.pm, 'install', inputs.packages),
  ];
  if (inputs.hook) lines.push(`PKGDIR=BUNDLE bash -c '. "$0"' ${inputs.hook.file}   # see docs/hooks.md`);
  lines.push(...pm.describe(inputs.pm, 'clean', []));
  return lines;
}

export const stagingStage = defineStage<StagingInputs>({
  name: 'staging',
  version: 1,
  mutatesRoot: true,
  applies: () => true,
  inputs: (plan) => {
    const { spec, flavour } = plan;
    const hook = hookInputsOf(spec, 'staging', flavour, plan.options.hookEnv);
    return {
      ...packageInputsOf(spec, plan.options.locked),
      flavour,
      script: spec.stagingScript[flavour],
      packages: [...spec.packages[flavour], ...(plan.options.extraPackages ?? [])],
      ...(hook ? { hook } : {}),
    };
  },
  sources: (inputs) => packageSources(inputs, [inputs.hook?.file]),
  commands: stagingCommands,
  describe: describeStaging,
  run: runStaging,
});
