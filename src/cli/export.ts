import type { Command } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bootFilesAsInstalled } from '../kernel/boot-files.js';
import { UsageError } from '../errors.js';
import { withFileSystemErrors } from '../fs/fs-error.js';
import { measureTree } from '../fs/measure-tree.js';
import { parseImageRef } from '../oci/image-ref.js';
import { exportOciImage } from '../oci/write-image.js';
import { defaultBuildOptions, makePlan, parseTarget, planUpTo } from '../pipeline/plan.js';
import { preflight } from '../pipeline/preflight.js';
import { TARGETS } from '../stage/targets.js';
import { ROOT_STAGE_NAMES } from '../pipeline/stages.js';
import { runPipeline } from '../pipeline/run-pipeline.js';
import { loadRepo } from '../spec/load.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';

interface ExportFlags {
  stage: string;
  oci: string;
  target: string;
  lockTimeout: string;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      "write a stage's root as an OCI image (builds the stages up to it, or takes them from the cache)",
    )
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .requiredOption('--stage <stage>', `the stage whose root is exported (${ROOT_STAGE_NAMES.join(', ')})`)
    .requiredOption(
      '--oci <dest>',
      'oci:DIR[:TAG] (a layout folder), oci-archive:FILE[:TAG], or containers-storage:NAME[:TAG]',
    )
    .option(
      '-t, --target <target>',
      `the target whose stages build the root (${TARGETS.join(', ')})`,
      'bootstrap',
    )
    .option('--lock-timeout <seconds>', 'how long to wait for another build of the same repo', '1800')
    .action(async (ref: string, flags: ExportFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      const spec = await loadRepo(ref, reposDir(globals));
      const dest = parseImageRef(flags.oci, process.cwd());
      const lockTimeout = Number(flags.lockTimeout);
      if (!Number.isFinite(lockTimeout) || lockTimeout < 0)
        throw new UsageError('--lock-timeout takes seconds');
      const full = makePlan(spec, parseTarget(flags.target), { ...defaultBuildOptions(), lockTimeout });
      const plan = planUpTo(full, flags.stage);
      await preflight(plan);
      const result = await runPipeline(plan, logger);
      const version = result.final.meta.kernelVersion;
      const scratch = await mkdtemp(join(tmpdir(), 'isobuild-export-'));
      let digest: string;
      try {
        // The kernel's files go back under /boot in a layer of their own: the root's package
        // database lists the kernel, so an image built FROM this one finds it where it expects.
        const extraLayers: { dir: string; createdBy: string }[] = [];
        if (version) {
          await bootFilesAsInstalled(result.final.bootfs, version, join(scratch, 'boot-layer'));
          extraLayers.push({
            dir: join(scratch, 'boot-layer'),
            createdBy: `isobuild: kernel ${version} in /boot`,
          });
        }
        const rootfs = result.final.rootfs;
        digest = await withFileSystemErrors(
          {
            what: '--oci',
            ...(dest.transport === 'containers-storage' ? {} : { path: resolve(dest.path) }),
            neededBytes: async () => (await measureTree(rootfs)).bytes,
          },
          () =>
            exportOciImage(rootfs, dest, {
              sourceDateEpoch: plan.options.sourceDateEpoch,
              createdBy: `isobuild export ${spec.name} --stage ${flags.stage}`,
              extraLayers,
            }),
        );
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      const where = dest.transport === 'containers-storage' ? dest.path : resolve(dest.path);
      logger.event(
        { type: 'export', repo: spec.name, stage: flags.stage, format: dest.transport, path: where, digest },
        `exported the ${flags.stage} root of ${spec.name} to ${dest.transport}:${where} (${digest})`,
      );
    });
}
