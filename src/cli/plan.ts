import type { Command } from 'commander';
import { join } from 'node:path';
import { describePlan, makePlan } from '../pipeline/plan.js';
import { defaultBuildOptions, parseTarget } from '../pipeline/build-options.js';
import { describeTargets } from '../stage/targets.js';
import { writeEvent } from '../log/events.js';
import { showPath } from '../spec/document.js';
import type { ResolvedSpec } from '../spec/types.js';
import { describeSpec } from '../spec/describe-spec.js';
import { parseHookEnv } from '../hooks/hook-env.js';
import { lockPath, readLock, staleReason } from '../lock/lock-file.js';
import { useToolVersionFile } from '../exec/tool-version.js';
import { cacheLayout } from '../cache/cache.js';
import { explainPlan, formatExplanation, type StageExplanation } from '../pipeline/explain.js';
import type { BuildPlan } from '../stage/types.js';
import { cacheRoot, loggerFor, reposDir, type GlobalOptions } from './context.js';
import { loadRepoCheckingDrivers, runsDriversStage } from '../build/driver-check.js';

/** Whether the repo's isobuild.lock still matches the spec (a build without --locked ignores it). */
export async function describeLock(
  spec: ResolvedSpec,
): Promise<{ path: string; packages: number; stale?: string; text: string } | undefined> {
  const path = lockPath(spec);
  const lock = await readLock(path);
  if (!lock) return undefined;
  const stale = staleReason(spec, lock);
  const head = `${showPath(path)} (${lock.packages.length} packages)`;
  return {
    path,
    packages: lock.packages.length,
    ...(stale ? { stale } : {}),
    text: stale
      ? `${head} is STALE: ${stale}; run isobuild lock ${spec.name}`
      : `${head}, matches the spec; used with build --locked`,
  };
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('show the resolved spec and the stages a build would run, with their commands; runs nothing')
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .option('-t, --target <target>', 'the target whose build is shown (targets below)', 'bootstrap')
    .option('--explain', "each stage's cache key, whether it is cached, and why it rebuilds")
    .option(
      '--env <KEY=VALUE>',
      "as build --env: the hooks' variables, which are part of the keys --explain shows (repeatable)",
      (pair: string, all: string[]) => [...all, pair],
      [] as string[],
    )
    .addHelpText('after', `\nTargets (default paths under bin/):\n${describeTargets()}`)
    .action(
      async (ref: string, flags: { target: string; explain?: boolean; env: string[] }, cmd: Command) => {
        const globals = cmd.optsWithGlobals<GlobalOptions>();
        const target = parseTarget(flags.target);
        const { spec, drivers } = await loadRepoCheckingDrivers(
          ref,
          reposDir(globals),
          loggerFor(globals),
          (s) => runsDriversStage(s, target),
        );
        const hookEnv = flags.env.length ? { hookEnv: parseHookEnv(flags.env) } : {};
        const plan = makePlan(spec, target, { ...defaultBuildOptions(), ...hookEnv });
        const described = describePlan(plan);
        const lock = await describeLock(spec);
        const explained = flags.explain ? await explainStages(plan) : undefined;
        if (globals.json) {
          writeEvent({
            type: 'plan',
            ...described,
            spec,
            ...(drivers ? { drivers: { checked: drivers.checked, note: drivers.note } } : {}),
            ...(lock ? { lock } : {}),
            ...(explained ? { cache: { root: cacheRoot(), stages: explained } } : {}),
          });
          return;
        }
        const rows: [string, string][] = describeSpec(spec).map((r) => [r.label, r.value]);
        if (drivers) rows.push(['drivers check', drivers.note]);
        if (lock) rows.push(['lock', lock.text]);
        const width = Math.max(...rows.map(([k]) => k.length));
        const out: string[] = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
        out.push(
          '',
          `target ${described.target} (flavour ${described.flavour}), outputs: ${described.outputs.join(', ') || '(none: the root stays in the cache; use build --export)'}`,
          `  ${described.description}`,
          ...Object.entries(described.paths).map(([format, path]) => `  ${format} → ${path}`),
          '',
        );
        described.stages.forEach((s, i) => {
          out.push(`${i + 1}. ${s.name}`);
          for (const c of s.commands) out.push(`     ${c}`);
        });
        if (explained) {
          const width = Math.max(...explained.map((e) => e.stage.length));
          out.push('', `cache ${cacheRoot()} (the build's default options):`);
          for (const e of explained)
            out.push(
              `  ${e.key}  ${formatExplanation(e).replace(`${e.stage}:`, `${e.stage}:`.padEnd(width + 1))}`,
            );
        }
        process.stdout.write(out.join('\n') + '\n');
      },
    );
}

/** The stages' keys against the cache a build would use; tool versions as the build recorded them. */
async function explainStages(plan: BuildPlan): Promise<StageExplanation[]> {
  const layout = cacheLayout(cacheRoot());
  // Answers kept by earlier builds: no tool is run just to show the plan (nothing is saved).
  await useToolVersionFile(join(layout.root, 'tool-versions.json'));
  return explainPlan(plan, layout);
}
