import type { Command } from 'commander';
import { UsageError } from '../errors.js';

// Placeholder until this command is implemented.
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError('isobuild doctor is not implemented yet');
    });
}
