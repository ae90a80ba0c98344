import type { Command } from 'commander';
import { UsageError } from '../errors.js';

// Placeholder until this command is implemented.
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError('isobuild run is not implemented yet');
    });
}
