import { FROM_BUNDLE_TOOLS } from '../build/from-bundle.js';
import type { Command } from 'commander';
import { HOST_BUSYBOX, surveyTools, type ToolNeed, type ToolStatus } from '../exec/host-tools.js';
import { ToolMissingError } from '../errors.js';
import { writeEvent } from '../log/events.js';
import { makePlan } from '../pipeline/plan.js';
import { defaultBuildOptions, parseTarget } from '../pipeline/build-options.js';
import { toolsForPlan } from '../pipeline/preflight.js';
import { TARGET_TABLE, TARGETS } from '../stage/targets.js';
import { listRepoFolders, loadRepo, loadRepoFolder } from '../spec/load.js';
import { reposDir, type GlobalOptions } from './context.js';

/** What `boot` and `run` need besides a build: qemu, and a disk for `run`'s container. */
const VM_TOOLS: ToolNeed[] = [
  { tool: 'qemu-system-x86_64', reason: 'boot images (isobuild boot, run)' },
  { tool: '/usr/share/OVMF/OVMF_CODE.fd', reason: 'boot images under UEFI (boot --uefi)' },
  { tool: 'qemu-system-aarch64', reason: 'boot arm64 images (isobuild boot, run)' },
  { tool: '/usr/share/AAVMF/AAVMF_CODE.fd', reason: 'boot arm64 images under UEFI' },
  { tool: 'arch-test', reason: 'build arm64 images (build --arch arm64: mmdebstrap checks the host)' },
  {
    tool: '/proc/sys/fs/binfmt_misc/qemu-aarch64',
    reason: "build arm64 images (build --arch arm64: the root's maintainer scripts run under qemu-user)",
  },
  { tool: 'mkfs.ext4', reason: 'make the containerfs disk (isobuild run)' },
  { tool: 'debugfs', reason: 'write the command into the containerfs disk (isobuild run)' },
  { tool: HOST_BUSYBOX, reason: 'the default container root (isobuild run)' },
];

/**
 * Without a repo: what any build of any repo in the repos folder needs, for every target, plus
 * boot and run, and build --from-bundle. Only tools some command really runs are listed, so the count means something.
 */
async function needsOfEveryRepo(dir: string): Promise<ToolNeed[]> {
  const needs: ToolNeed[] = [...VM_TOOLS, ...FROM_BUNDLE_TOOLS];
  for (const folder of await listRepoFolders(dir).catch(() => [])) {
    const { spec } = await loadRepoFolder(folder);
    if (!spec) continue;
    for (const target of TARGETS) {
      if (TARGET_TABLE[target].app && !spec.app) continue;
      needs.push(...toolsForPlan(makePlan(spec, target, defaultBuildOptions())));
    }
  }
  return needs;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the host tools a build needs and name the Debian package of each missing one')
    .argument('[repo]', "check only what this repo's plan needs (default: every repo's, and boot/run's)")
    .option('-t, --target <target>', 'with a repo: the target to check for', 'bootstrap')
    .action(async (ref: string | undefined, flags: { target: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const needs = ref
        ? toolsForPlan(
            makePlan(
              await loadRepo(ref, reposDir(globals)),
              parseTarget(flags.target),
              defaultBuildOptions(),
            ),
          )
        : await needsOfEveryRepo(reposDir(globals));
      const tools = await surveyTools(needs);
      const missing = tools.filter((t) => !t.present);
      if (globals.json) {
        for (const t of tools) writeEvent({ type: 'tool', ...t });
        writeEvent({ type: 'doctor', repo: ref ?? null, checked: tools.length, missing: missing.length });
      } else {
        printHuman(tools, missing);
      }
      if (missing.length)
        throw new ToolMissingError(
          missing.map((m) => ({ tool: m.tool, reason: m.reason, debianPackage: m.debianPackage })),
        );
    });
}

function printHuman(tools: readonly ToolStatus[], missing: readonly ToolStatus[]): void {
  process.stdout.write(`checked ${tools.length} host tools\n`);
  if (!missing.length) process.stdout.write('all required tools are present\n');
}
