import type { Command } from 'commander';
import { exportStageImage } from '../build/export-image.js';
import { ROOT_STAGE_NAMES } from '../pipeline/stages.js';
import { addStageRootOptions, openStageRoot, type StageRootFlags } from './options.js';

interface ExportFlags extends StageRootFlags {
  stage: string;
  oci: string;
}

export function registerExport(program: Command): void {
  const command = program
    .command('export')
    .description(
      "write a stage's root as an OCI image (builds the stages up to it, or takes them from the cache)",
    )
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .requiredOption('--stage <stage>', `the stage whose root is exported (${ROOT_STAGE_NAMES.join(', ')})`)
    .requiredOption(
      '--oci <dest>',
      'oci:DIR[:TAG] (a layout folder), oci-archive:FILE[:TAG], or containers-storage:NAME[:TAG]',
    );
  addStageRootOptions(command).action(async (ref: string, flags: ExportFlags, cmd: Command) => {
    const { request } = openStageRoot(ref, flags, cmd);
    await exportStageImage({ ...request, stage: flags.stage, oci: flags.oci });
  });
}
