import type { Command } from 'commander';
import { lockRepo } from '../build/lock-repo.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';
import { addLockTimeoutOption, parseLockTimeout } from './options.js';

export function registerLock(program: Command): void {
  const command = program
    .command('lock')
    .description(
      'write repos/REPO/isobuild.lock: every package the build installs, with exact version, architecture and digest',
    )
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder');
  addLockTimeoutOption(command).action(async (ref: string, flags: { lockTimeout: string }, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    await lockRepo({
      repo: ref,
      reposDir: reposDir(globals),
      lockTimeout: parseLockTimeout(flags.lockTimeout),
      logger: loggerFor(globals),
    });
  });
}
