import type { Command } from 'commander';
import { basename } from 'node:path';
import { formatDiagnostic, SpecError, type Diagnostic } from '../errors.js';
import { writeEvent } from '../log/events.js';
import { showPath } from '../spec/document.js';
import { listRepoFolders, loadRepoFolder, locateRepo } from '../spec/load.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';
import { checkRepoDrivers } from '../build/driver-check.js';

interface Outcome {
  repo: string;
  path: string;
  valid: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** The drivers checked against a cached kernel, or why not; absent when the repo asks for none. */
  drivers?: { checked: boolean; kernel?: string; note: string };
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check repo specs, their files and hooks without building (all repos when none is given)')
    .argument('[repos...]', 'repo names under the repos folder, or paths to repo folders')
    .action(async (refs: string[], _flags: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const logger = loggerFor(globals);
      const dir = reposDir(globals);
      const folders =
        refs.length > 0 ? await Promise.all(refs.map((r) => locateRepo(r, dir))) : await listRepoFolders(dir);
      if (folders.length === 0) logger.warn(`no repos in ${showPath(dir)}`);
      const outcomes: Outcome[] = [];
      for (const folder of folders) {
        const { spec, errors, warnings, driverSites } = await loadRepoFolder(folder);
        const check = spec ? await checkRepoDrivers(spec, driverSites ?? []) : undefined;
        const driverErrors = check?.errors ?? [];
        outcomes.push({
          repo: spec?.name ?? basename(folder),
          path: showPath(folder),
          valid: !!spec && driverErrors.length === 0,
          errors: [...errors, ...driverErrors],
          warnings,
          ...(check
            ? {
                drivers: {
                  checked: check.checked,
                  ...(check.kernel ? { kernel: check.kernel } : {}),
                  note: check.note,
                },
              }
            : {}),
        });
      }
      if (globals.json) {
        for (const o of outcomes) writeEvent({ type: 'validation', ...o });
      } else {
        for (const o of outcomes) {
          for (const w of o.warnings) logger.warn(formatDiagnostic(w));
          if (o.drivers) logger.info(`${o.repo}: drivers ${o.drivers.note}`);
          if (o.valid) process.stdout.write(`ok  ${o.repo}\n`);
        }
      }
      // The handler prints every diagnostic of the invalid repos and exits 2.
      const invalid = outcomes.filter((o) => !o.valid);
      if (invalid.length > 0) throw new SpecError(invalid.flatMap((o) => o.errors));
    });
}
