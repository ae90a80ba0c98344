import type { Command } from 'commander';
import { UsageError } from '../errors.js';

// Placeholder until this command is implemented.
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError('isobuild validate is not implemented yet');
    });
}
