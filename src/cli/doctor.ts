import type { Command } from 'commander';
import { findMissingTools, HOST_FILES, HOST_TOOLS, type ToolNeed } from '../exec/host-tools.js';
import { ToolMissingError } from '../errors.js';
import { defaultBuildOptions, makePlan, parseTarget } from '../pipeline/plan.js';
import { toolsForPlan } from '../pipeline/preflight.js';
import { loadRepo } from '../spec/load.js';
import { reposDir, type GlobalOptions } from './context.js';

/** Tools that only some package managers need: missing ones are reported but do not fail `doctor`. */
const OPTIONAL_WHY: Record<string, string> = {
  tdnf: 'not packaged in Debian; the tdnf adapter runs dnf with the same configuration',
  yum: 'not packaged in Debian 12; the yum adapter runs dnf with the same configuration',
  debootstrap: 'apt-get install debootstrap; only a fallback for mmdebstrap',
};
const OPTIONAL = new Set(Object.keys(OPTIONAL_WHY));

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the host tools a build needs and name the Debian package of each missing one')
    .argument('[repo]', "check only what this repo's plan needs")
    .option('-t, --target <target>', 'with a repo: the target to check for', 'bootstrap')
    .action(async (ref: string | undefined, flags: { target: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      let needs: ToolNeed[];
      if (ref) {
        const spec = await loadRepo(ref, reposDir(globals));
        needs = toolsForPlan(makePlan(spec, parseTarget(flags.target), defaultBuildOptions()));
      } else {
        needs = [...Object.keys(HOST_TOOLS), ...Object.keys(HOST_FILES)].map((tool) => ({
          tool: tool as ToolNeed['tool'],
          reason: 'used by some build',
        }));
      }
      const missing = await findMissingTools(needs);
      const required = missing.filter((m) => ref || !OPTIONAL.has(m.tool));
      if (globals.json) {
        process.stdout.write(JSON.stringify({ checked: needs.length, missing }, null, 2) + '\n');
      } else {
        const optional = missing.filter((m) => !required.includes(m));
        process.stdout.write(`checked ${new Set(needs.map((n) => n.tool)).size} host tools\n`);
        for (const m of optional)
          process.stdout.write(
            `optional: ${m.tool} not found (${OPTIONAL_WHY[m.tool] ?? `apt-get install ${m.debianPackage}`})\n`,
          );
        if (!required.length) process.stdout.write('all required tools are present\n');
      }
      if (required.length) throw new ToolMissingError(required);
    });
}
