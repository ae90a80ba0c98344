import type { Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { describeWanted, findCommandInRoot, runInRoot } from '../hooks/root-shell.js';
import { quoteWord } from '../exec/shell-quote.js';
import { writeEvent } from '../log/events.js';
import { cacheLayout, lookupEntry } from '../cache/cache.js';
import type { PipelineResult } from '../pipeline/run-pipeline.js';
import type { BuildPlan } from '../stage/types.js';
import { buildStages } from '../build/stages.js';
import { consoleWriter, nextCommand } from './context.js';
import { addStageRootOptions, openStageRoot, type StageRootFlags } from './options.js';

interface ShellFlags extends StageRootFlags {
  stage?: string;
}

/** The stage a shell opens in by default: the last one that changes the root (later ones only pack it). */
export function defaultShellStage(plan: BuildPlan): string {
  const last = plan.stages.filter((s) => s.mutatesRoot).at(-1);
  if (!last)
    throw new UsageError(`the ${plan.target} build of ${plan.spec.name} has no stage that makes a root`);
  return last.name;
}

/** The root a shell opens: its stage, the folder, the command to run there, and why it is not the default one. */
export interface ShellRoot {
  stage: string;
  root: string;
  command: string[];
  note?: string;
}

/**
 * The root to open for argv (empty: a shell). The stage asked for, if its root has the
 * command; without --stage, else the deepest earlier root-making stage whose cache entry has
 * it (a minimised tether root keeps no shell, staging's does), said in `note`. Otherwise a
 * UsageError naming the stage and what to open instead: `suggest(stage)` is the command line.
 */
export async function chooseShellRoot(o: {
  plan: BuildPlan;
  result: PipelineResult;
  stage: string;
  explicit: boolean;
  argv: readonly string[];
  suggest: (stage: string) => string;
}): Promise<ShellRoot> {
  const { plan, result, stage, argv } = o;
  const command = await findCommandInRoot(result.final.rootfs, argv);
  if (command) return { stage, root: result.final.rootfs, command };
  const wanted = describeWanted(argv);
  const index = plan.stages.findIndex((s) => s.name === stage);
  const earlier = plan.stages.slice(0, index).filter((s) => s.mutatesRoot);
  if (!o.explicit) {
    const layout = cacheLayout(resolve(plan.options.cacheRoot));
    for (const s of [...earlier].reverse()) {
      const key = result.outcomes.find((x) => x.stage === s.name)?.key;
      const entry = key ? await lookupEntry(layout, plan.spec.name, s.name, key) : undefined;
      const found = entry && (await findCommandInRoot(entry.rootfs, argv));
      if (entry && found)
        return {
          stage: s.name,
          root: entry.rootfs,
          command: found,
          note: `the ${stage} root has no ${wanted}: opening the ${s.name} root, the deepest of this target that has it (--stage to choose)`,
        };
    }
  }
  // staging's root is the fullest one: every package, before minimise takes any out.
  const instead = earlier.find((s) => s.name === 'staging') ?? earlier.at(-1);
  throw new UsageError(
    `the ${stage} root of ${plan.spec.name} has no ${wanted}` +
      (stage === 'minimise' || stage === 'tether'
        ? ' (a minimised root keeps only what the image runs)'
        : '') +
      (instead ? `; open an earlier stage's root: ${o.suggest(instead.name)}` : ''),
  );
}

export function registerShell(program: Command): void {
  const command = program
    .command('shell')
    .description(
      "open a shell (or run a command) in a stage's root, in a read-only sandbox; builds the stages up to it or takes them from the cache",
    )
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .argument('[command...]', 'the command and its arguments, after -- (default: an interactive shell)')
    .option(
      '--stage <stage>',
      "the stage whose root is opened (default: the target's last stage that changes the root)",
    );
  addStageRootOptions(command).action(
    async (ref: string, argv: string[], flags: ShellFlags, cmd: Command) => {
      const { globals, logger, request } = openStageRoot(ref, flags, cmd);
      if (globals.json && argv.length === 0)
        throw new UsageError('--json needs a command after --: an interactive shell has no JSON output');
      const { spec, plan, stage, result } = await buildStages({
        ...request,
        stage: (full) => flags.stage ?? defaultShellStage(full),
        tools: [{ tool: 'bwrap', reason: "sandbox the shell in the stage's root" }],
      });
      const chosen = await chooseShellRoot({
        plan,
        result,
        stage,
        explicit: flags.stage !== undefined,
        argv,
        suggest: (s) =>
          nextCommand(
            globals,
            'shell',
            quoteWord(ref),
            '--stage',
            s,
            ...(flags.target === 'bootstrap' ? [] : ['--target', flags.target]),
            ...(argv.length ? ['--', ...argv.map((a) => quoteWord(a))] : []),
          ),
      });
      if (chosen.note) logger.info(chosen.note);
      logger.info(
        `${chosen.stage} root of ${spec.name}: read-only, writes go to a throwaway /tmp; nothing is kept`,
      );
      const ran = await runInRoot(chosen.root, chosen.command, {
        inherit: !globals.json,
        label: `${spec.name}:${chosen.stage}`,
        logger,
      });
      if (globals.json) {
        const write = consoleWriter(globals, 'command');
        for (const line of ran.all.replace(/\n$/, '').split('\n')) if (ran.all) write(line);
        writeEvent({ type: 'exit', status: ran.exitCode });
      }
      process.exitCode = ran.exitCode;
    },
  );
}
