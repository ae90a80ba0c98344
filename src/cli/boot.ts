import type { Command } from 'commander';
import { UsageError } from '../errors.js';

// Placeholder until this command is implemented.
export function registerBoot(program: Command): void {
  program
    .command('boot')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError('isobuild boot is not implemented yet');
    });
}
