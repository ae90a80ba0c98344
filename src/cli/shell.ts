import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { checkTools } from '../exec/host-tools.js';
import { runInRoot } from '../exec/root-shell.js';
import { writeEvent } from '../log/events.js';
import { defaultBuildOptions, makePlan, parseTarget, planUpTo } from '../pipeline/plan.js';
import { preflight } from '../pipeline/preflight.js';
import { runPipeline } from '../pipeline/run-pipeline.js';
import { TARGETS } from '../pipeline/targets.js';
import type { BuildPlan } from '../pipeline/types.js';
import { loadRepo } from '../spec/load.js';
import { consoleWriter, loggerFor, reposDir, type GlobalOptions } from './context.js';

interface ShellFlags {
  stage?: string;
  target: string;
  lockTimeout: string;
}

/** The stage a shell opens in by default: the last one that changes the root (later ones only pack it). */
export function defaultShellStage(plan: BuildPlan): string {
  const last = plan.stages.filter((s) => s.mutatesRoot).at(-1);
  if (!last)
    throw new UsageError(`the ${plan.target} build of ${plan.spec.name} has no stage that makes a root`);
  return last.name;
}

export function registerShell(program: Command): void {
  program
    .command('shell')
    .description(
      "open a shell (or run a command) in a stage's root, in a read-only sandbox; builds the stages up to it or takes them from the cache",
    )
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .argument('[command...]', 'the command and its arguments, after -- (default: an interactive shell)')
    .option(
      '--stage <stage>',
      "the stage whose root is opened (default: the target's last stage that changes the root)",
    )
    .option(
      '-t, --target <target>',
      `the target whose stages build the root (${TARGETS.join(', ')})`,
      'bootstrap',
    )
    .option('--lock-timeout <seconds>', 'how long to wait for another build of the same repo', '1800')
    .action(async (ref: string, argv: string[], flags: ShellFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      if (globals.json && argv.length === 0)
        throw new UsageError('--json needs a command after --: an interactive shell has no JSON output');
      const lockTimeout = Number(flags.lockTimeout);
      if (!Number.isFinite(lockTimeout) || lockTimeout < 0)
        throw new UsageError('--lock-timeout takes seconds');
      const spec = await loadRepo(ref, reposDir(globals), logger);
      const full = makePlan(spec, parseTarget(flags.target), { ...defaultBuildOptions(), lockTimeout });
      const stage = flags.stage ?? defaultShellStage(full);
      const plan = planUpTo(full, stage);
      await preflight(plan);
      await checkTools([{ tool: 'bwrap', reason: "sandbox the shell in the stage's root" }]);
      const result = await runPipeline(plan, logger);
      const root = result.final.rootfs;
      logger.info(`${stage} root of ${spec.name}: read-only, writes go to a throwaway /tmp; nothing is kept`);
      const ran = await runInRoot(root, argv, {
        inherit: !globals.json,
        label: `${spec.name}:${stage}`,
        logger,
      });
      if (globals.json) {
        const write = consoleWriter(globals, 'command');
        for (const line of ran.all.replace(/\n$/, '').split('\n')) if (ran.all) write(line);
        writeEvent({ type: 'exit', status: ran.exitCode });
      }
      process.exitCode = ran.exitCode;
    });
}
