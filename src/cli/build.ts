import type { Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { exportRoot } from '../pipeline/export.js';
import { defaultBuildOptions, makePlan, parseTarget } from '../pipeline/plan.js';
import { preflight } from '../pipeline/preflight.js';
import { runPipeline } from '../pipeline/run-pipeline.js';
import type { BuildPlan, OutputFormat } from '../pipeline/types.js';
import { loadRepo } from '../spec/load.js';
import { writeOutputs } from '../image/outputs.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';

interface BuildFlags {
  target: string;
  output?: string;
  export?: string;
  cache: boolean;
  tether?: string;
  lockTimeout: string;
  bin: string;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build a repo up to a target (default: the bootstrap ISO)')
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .option(
      '-t, --target <target>',
      'iso-base | bootstrap-staging | appliance-staging | bootstrap | appliance | initrd | app',
      'bootstrap',
    )
    .option('-o, --output <path>', 'where the ISO (or the kernel+initrd folder) goes')
    .option('--export <dir|tarball>', "write the last stage's root out (a folder, or .tar/.tar.gz/.tar.zst)")
    .option('--no-cache', 'rebuild every stage (results still refresh the cache)')
    .option('--tether <path>', "tether binary to start after switch_root (default: isobuild's own)")
    .option('--lock-timeout <seconds>', 'how long to wait for another build of the same repo', '1800')
    .option('--bin <dir>', 'output folder', 'bin')
    .action(async (ref: string, flags: BuildFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      const spec = await loadRepo(ref, reposDir(globals));
      const lockTimeout = Number(flags.lockTimeout);
      if (!Number.isFinite(lockTimeout) || lockTimeout < 0)
        throw new UsageError('--lock-timeout takes seconds');
      const plan = makePlan(spec, parseTarget(flags.target), {
        ...defaultBuildOptions(),
        outputDir: flags.bin,
        noCache: !flags.cache,
        tether: flags.tether ? resolve(flags.tether) : undefined,
        lockTimeout,
      });
      await preflight(plan);
      const started = Date.now();
      const result = await runPipeline(plan, logger);
      const destinations = Object.fromEntries(plan.outputs.map((f) => [f, outputPath(plan, f, flags)]));
      await writeOutputs(plan, result.final.artifacts, destinations, logger);
      if (flags.export) {
        const dest = await exportRoot(result.final.rootfs, flags.export, plan.options.sourceDateEpoch);
        logger.event(
          { type: 'export', path: dest },
          `exported the ${plan.stages.at(-1)?.name} root to ${dest}`,
        );
      }
      const seconds = (Date.now() - started) / 1000;
      const built = result.outcomes.filter((o) => o.status === 'built').length;
      logger.event(
        { type: 'done', repo: spec.name, target: plan.target, seconds, stagesBuilt: built },
        `${spec.name} ${plan.target}: done in ${seconds.toFixed(1)} s (${built} of ${result.outcomes.length} stages built)`,
      );
    });
}

/** VIC's names: bin/bootstrap-<repo>.iso, bin/appliance-<repo>.iso; kernel+initrd in bin/<repo>/. */
export function outputPath(
  plan: BuildPlan,
  format: OutputFormat,
  flags: Pick<BuildFlags, 'output' | 'bin'>,
): string {
  const repo = plan.spec.name;
  const kind = plan.app ? 'app' : plan.flavour;
  if (format === 'iso') return resolve(flags.output ?? `${flags.bin}/${kind}-${repo}.iso`);
  if (flags.output && !plan.outputs.includes('iso')) return resolve(flags.output);
  return resolve(flags.bin, plan.app ? `app-${repo}` : repo);
}
