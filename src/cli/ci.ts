import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { writeFileWhole } from '../fs/replace-file.js';
import { parse } from 'yaml';
import {
  DEFAULT_WORKFLOW_PATH,
  jobLabel,
  matrixJobs,
  renderWorkflow,
  type MatrixJob,
} from '../ci/workflow.js';
import { ARCH_NAMES, DEFAULT_ARCH, type Arch } from '../spec/arch.js';
import { IsobuildError, SpecError, UsageError } from '../errors.js';
import { listRepoFolders, loadRepoFolder } from '../spec/load.js';
import { parseRepositoryRef } from '../registry/reference.js';
import type { ResolvedSpec } from '../spec/types.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';

interface CiFlags {
  output: string;
  check?: boolean;
  registry?: string;
  arch?: string;
}

/** `ci --check` on a stale workflow: a failed check, not a usage error. */
export class StaleWorkflowError extends IsobuildError {
  constructor(message: string) {
    super(message);
    this.name = 'StaleWorkflowError';
  }
}

export function registerCi(program: Command): void {
  program
    .command('ci')
    .description(
      'write the GitHub Actions workflow: a matrix of repos × targets, stages cached in a registry',
    )
    .option('-o, --output <path>', 'where the workflow goes', DEFAULT_WORKFLOW_PATH)
    .option('--check', 'exit 1 if the workflow on disk is not what the repos give (for CI and pre-commit)')
    .option('--registry <ref>', 'stage cache repository (default: ghcr.io/<owner>/<repo>/isobuild-cache)')
    .option(
      '--arch <list>',
      `architectures of the matrix, comma-separated (${ARCH_NAMES.join(', ')}; default ${DEFAULT_ARCH}); a repo the spec rules refuse for one is left out of its axis`,
      DEFAULT_ARCH,
    )
    .action(async (flags: CiFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      if (flags.registry) parseRepositoryRef(flags.registry, '--registry');
      const jobs = matrixJobs(await loadAllSpecs(reposDir(globals), parseArches(flags.arch ?? DEFAULT_ARCH)));
      const text = renderWorkflow(jobs, { registry: flags.registry });
      const path = resolve(flags.output);
      const shown = relative(process.cwd(), path) || path;
      if (flags.check) {
        const current = await readFile(path, 'utf8').catch(() => undefined);
        if (current === undefined) throw new StaleWorkflowError(`${shown} does not exist: run isobuild ci`);
        if (current !== text)
          throw new StaleWorkflowError(
            `${shown} is out of date with the repos:\n${describeChange(current, jobs)}\nrun isobuild ci`,
          );
        logger.event(
          { type: 'ci', path: shown, jobs: jobs.length, upToDate: true },
          `${shown} is up to date (${jobs.length} jobs)`,
        );
        return;
      }
      await writeFileWhole(path, text, { mkdir: true });
      logger.event(
        { type: 'ci', path: shown, jobs: jobs.length },
        `wrote ${shown}: ${jobs.length} jobs (${jobs.map(jobLabel).join(', ')})`,
      );
    });
}

/** `--arch amd64,arm64`: each named once, each one isobuild builds for. */
function parseArches(list: string): Arch[] {
  const names = list.split(',').map((a) => a.trim());
  for (const name of names)
    if (!(ARCH_NAMES as readonly string[]).includes(name))
      throw new UsageError(`--arch: unknown architecture "${name}" (one of ${ARCH_NAMES.join(', ')})`);
  return [...new Set(names)] as Arch[];
}

/**
 * Every repo must load for amd64: a workflow for half the repos would pass --check and hide the
 * broken one. For another architecture a repo the rules refuse (an RPM root, secure_boot) is
 * left out of that axis, as a build with --arch would refuse it.
 */
async function loadAllSpecs(dir: string, arches: readonly Arch[]): Promise<ResolvedSpec[]> {
  const specs: ResolvedSpec[] = [];
  const errors = [];
  for (const folder of await listRepoFolders(dir)) {
    const result = await loadRepoFolder(folder);
    if (!result.spec) {
      errors.push(...result.errors);
      continue;
    }
    for (const arch of arches) {
      if (arch === result.spec.arch) specs.push(result.spec);
      else {
        const other = await loadRepoFolder(folder, { arch });
        if (other.spec) specs.push(other.spec);
      }
    }
  }
  if (errors.length) throw new SpecError(errors);
  return specs;
}

/** What changed, in terms of jobs when the matrix differs. */
function describeChange(current: string, jobs: readonly MatrixJob[]): string {
  let before: MatrixJob[] = [];
  try {
    const doc = parse(current) as {
      jobs?: { build?: { strategy?: { matrix?: { include?: MatrixJob[] } } } };
    };
    before = doc.jobs?.build?.strategy?.matrix?.include ?? [];
  } catch {
    return '  it is not valid YAML';
  }
  const label = jobLabel;
  const had = new Set(before.map(label));
  const has = new Set(jobs.map(label));
  const lines = [
    ...[...has].filter((j) => !had.has(j)).map((j) => `  + ${j}`),
    ...[...had].filter((j) => !has.has(j)).map((j) => `  - ${j}`),
  ];
  return lines.length
    ? lines.join('\n')
    : '  same jobs, other text (edited by hand, or written by another isobuild version)';
}
