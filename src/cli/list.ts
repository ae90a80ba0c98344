import type { Command } from 'commander';
import { UsageError } from '../errors.js';

// Placeholder until this command is implemented.
export function registerList(program: Command): void {
  program
    .command('list')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError('isobuild list is not implemented yet');
    });
}
