import type { ToolNeed } from '../exec/host-tools.js';
import { hooksSandboxed, hookTools, runHook } from '../hooks/run-hook.js';
import { checkRootAgainstLock } from '../lock/use-lock.js';
import type { BuildPlan, CacheInputs, Stage, StageContext } from '../pipeline/types.js';
import { packageManagerFor } from '../pm/index.js';
import { pmContextOf } from '../pm/pm-context.js';
import { packageSourceFiles, toolVersions } from './iso-base.js';

/**
 * staging (VIC's bootstrap-staging.sh / appliance-staging.sh): the flavour's
 * packages_script_staging, its packages, the repo's staging.sh, then the package caches out.
 */
async function runStaging(ctx: StageContext): Promise<void> {
  const flavour = ctx.plan.flavour;
  const pm = pmContextOf(ctx);
  const script = ctx.spec.stagingScript[flavour];
  if (script.length) {
    ctx.logger.info(`packages_script_staging.${flavour}: ${script.join(' ')}`);
    await ctx.pm.runScript(pm, script);
  }
  const packages = [...ctx.spec.packages[flavour], ...(ctx.plan.options.extraPackages ?? [])];
  if (packages.length) {
    ctx.logger.info(`installing ${packages.length} ${flavour} packages`);
    await ctx.pm.install(pm, packages);
  }
  await checkRootAgainstLock(ctx);
  if (ctx.spec.hooks.staging) await runHook(ctx, 'staging', ctx.spec.hooks.staging);
  await ctx.pm.clean(pm);
}

async function stagingInputs(plan: BuildPlan): Promise<CacheInputs> {
  const { spec, flavour } = plan;
  const files = await packageSourceFiles(spec);
  if (spec.hooks.staging) files.push(spec.hooks.staging);
  return {
    values: {
      flavour,
      script: spec.stagingScript[flavour],
      packages: [...spec.packages[flavour], ...(plan.options.extraPackages ?? [])],
      packagemanager: spec.packagemanager,
      release: spec.release,
      apt: spec.packagemanager === 'apt' ? spec.apt : undefined,
      aptSourcesEnv: spec.packagemanager === 'apt' ? (process.env.ISOBUILD_APT_SOURCES ?? null) : undefined,
      ...(plan.options.locked ? { locked: plan.options.locked.packages } : {}),
      // Only when off, so the default keeps the keys it had before this was an input.
      ...(spec.hooks.staging && !hooksSandboxed(spec) ? { hooksSandbox: false } : {}),
    },
    files,
    toolVersions: await toolVersions(spec),
  };
}

function stagingTools(plan: BuildPlan): ToolNeed[] {
  const { spec } = plan;
  const needs = [...packageManagerFor(spec.packagemanager).tools(spec)];
  if (spec.hooks.staging) needs.push(...hookTools(spec, 'staging.sh'));
  return needs;
}

function describeStaging(plan: BuildPlan): string[] {
  const { spec, flavour } = plan;
  const pm = packageManagerFor(spec.packagemanager);
  const lines = [
    ...pm.describe(spec, 'script', spec.stagingScript[flavour]),
    ...pm.describe(spec, 'install', [...spec.packages[flavour], ...(plan.options.extraPackages ?? [])]),
  ];
  if (spec.hooks.staging)
    lines.push(`PKGDIR=BUNDLE bash -c '. "$0"' ${spec.hooks.staging}   # see docs/hooks.md`);
  lines.push(...pm.describe(spec, 'clean', []));
  return lines;
}

export const stagingStage: Stage = {
  name: 'staging',
  version: 1,
  mutatesRoot: true,
  applies: () => true,
  tools: stagingTools,
  cacheInputs: stagingInputs,
  describe: describeStaging,
  run: runStaging,
};
