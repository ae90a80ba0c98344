import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { writeFileWhole } from '../fs/replace-file.js';
import { parse } from 'yaml';
import { DEFAULT_WORKFLOW_PATH, matrixJobs, renderWorkflow, type MatrixJob } from '../ci/workflow.js';
import { IsobuildError, SpecError } from '../errors.js';
import { listRepoFolders, loadRepoFolder } from '../spec/load.js';
import { parseRepositoryRef } from '../registry/reference.js';
import type { ResolvedSpec } from '../spec/types.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';

interface CiFlags {
  output: string;
  check?: boolean;
  registry?: string;
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
    .action(async (flags: CiFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      if (flags.registry) parseRepositoryRef(flags.registry, '--registry');
      const jobs = matrixJobs(await loadAllSpecs(reposDir(globals)));
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
        `wrote ${shown}: ${jobs.length} jobs (${jobs.map((j) => `${j.repo} ${j.target}`).join(', ')})`,
      );
    });
}

/** Every repo must load: a workflow for half the repos would pass --check and hide the broken one. */
async function loadAllSpecs(dir: string): Promise<ResolvedSpec[]> {
  const specs: ResolvedSpec[] = [];
  const errors = [];
  for (const folder of await listRepoFolders(dir)) {
    const result = await loadRepoFolder(folder);
    if (result.spec) specs.push(result.spec);
    else errors.push(...result.errors);
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
  const label = (j: MatrixJob) => `${j.repo} ${j.target}`;
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
