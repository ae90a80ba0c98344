import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { writeReport } from '../build/report.js';
import { UsageError } from '../errors.js';
import { exists } from '../fs/exists.js';
import { inventoryPaths } from '../inventory/write-inventory.js';
import { describePlan, makePlan } from '../pipeline/plan.js';
import { defaultBuildOptions, parseTarget } from '../pipeline/build-options.js';
import { loadRepo } from '../spec/load.js';
import { cacheRoot, loggerFor, reposDir, type GlobalOptions } from './context.js';

interface ReportFlags {
  output?: string;
  against?: string;
  target: string;
}

/**
 * An output as it is (a manifest, or a path with one beside it), else a repo (a name, or a repo
 * folder: a folder too, but with no manifest beside it): the first output its target writes.
 */
async function outputOf(ref: string, target: string, globals: GlobalOptions): Promise<string> {
  if (ref.endsWith('.manifest.json') || (await exists(inventoryPaths(ref).manifest))) return ref;
  // A path that is no folder is an output whose manifest is missing: say that, not "no such repo".
  if (
    ref.includes('/') &&
    !(await stat(ref).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return ref;
  const spec = await loadRepo(ref, reposDir(globals), loggerFor(globals));
  const paths = Object.values(describePlan(makePlan(spec, parseTarget(target), defaultBuildOptions())).paths);
  if (!paths[0]) throw new UsageError(`${ref}: target ${target} writes no output to report on`);
  return paths[0];
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'one self-contained HTML file about an output: size treemap by owner, build timeline, SBOM table; --against: what changed',
    )
    .argument(
      '<output|repo>',
      "an output isobuild wrote (ISO, folder...) or its manifest, or a repo (its target's output under bin/)",
    )
    .option('-o, --output <file>', 'where the HTML goes (default: <output>.report.html)')
    .option(
      '--against <other>',
      'another output (or manifest) to compare with: packages, files, sizes, first differing stage',
    )
    .option('-t, --target <target>', 'with a repo: the target whose output is reported', 'bootstrap')
    .action(async (ref: string, flags: ReportFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const output = await outputOf(ref, flags.target, globals);
      const file = await writeReport({
        output,
        ...(flags.output ? { file: flags.output } : {}),
        ...(flags.against ? { against: flags.against } : {}),
        cacheRoot: cacheRoot(),
      });
      loggerFor(globals).event({ type: 'report', output, file }, `wrote ${file}`);
    });
}
