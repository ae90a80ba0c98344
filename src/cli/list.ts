import type { Command } from 'commander';
import { basename } from 'node:path';
import { writeEvent } from '../log/events.js';
import { showPath } from '../spec/document.js';
import { listRepoFolders, loadRepoFolder } from '../spec/load.js';
import { nextCommand, reposDir, type GlobalOptions } from './context.js';

export interface RepoSummary {
  repo: string;
  path: string;
  packagemanager?: string;
  kernel?: string;
  release?: string;
  valid: boolean;
  errors: number;
  warnings: number;
}

/** Load every repo folder; a broken repo becomes a row with its error count, never a crash. */
export async function summariseRepos(dir: string): Promise<RepoSummary[]> {
  const rows: RepoSummary[] = [];
  for (const folder of await listRepoFolders(dir)) {
    const { spec, errors, warnings } = await loadRepoFolder(folder);
    rows.push({
      repo: spec?.name ?? basename(folder),
      path: showPath(folder),
      packagemanager: spec?.packagemanager,
      kernel: spec
        ? spec.kernel.kind === 'package'
          ? spec.kernel.name
          : spec.kernel.kind === 'file'
            ? showPath(spec.kernel.path)
            : `${spec.kernel.source.kind === 'package' ? spec.kernel.source.name : showPath(spec.kernel.source.path)} (built)`
        : undefined,
      release: spec?.release,
      valid: spec !== undefined,
      errors: errors.length,
      warnings: warnings.length,
    });
  }
  return rows;
}

export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list the repos with their package manager and kernel')
    .action(async (_flags: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const rows = await summariseRepos(reposDir(globals));
      if (globals.json) {
        for (const row of rows) writeEvent({ type: 'repo', ...row });
        return;
      }
      const status = (r: RepoSummary) =>
        r.valid
          ? r.warnings
            ? `ok (${plural(r.warnings, 'warning')})`
            : 'ok'
          : `invalid: ${plural(r.errors, 'error')} (${nextCommand(globals, 'validate', r.repo)})`;
      process.stdout.write(
        formatTable([
          ['REPO', 'PACKAGE MANAGER', 'KERNEL', 'RELEASE', 'STATUS'],
          ...rows.map((r) => [r.repo, r.packagemanager ?? '-', r.kernel ?? '-', r.release ?? '-', status(r)]),
        ]),
      );
    });
}
