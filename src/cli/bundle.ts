import type { Command } from 'commander';
import { makeBundle } from '../build/make-bundle.js';
import { parseTarget } from '../pipeline/build-options.js';
import { loggerFor, reposDir, type GlobalOptions } from './context.js';
import { addLockTimeoutOption, parseLockTimeout } from './options.js';

interface BundleFlags {
  target: string;
  output: string;
  bin: string;
  lockTimeout: string;
}

export function registerBundle(program: Command): void {
  const command = program
    .command('bundle')
    .description(
      'build a repo and write one self-contained bundle (an OCI layout) that `build --from-bundle` rebuilds with no network',
    )
    .argument('<repo>', 'repo name under the repos folder, or a path to a repo folder')
    .option('-t, --target <target>', 'what the bundle rebuilds', 'bootstrap')
    .requiredOption(
      '-o, --output <bundle>',
      'the bundle: a folder (OCI image layout), or its tar when it ends in .tar',
    )
    .option('--bin <dir>', "the build's output folder", 'bin')
    .addHelpText(
      'after',
      '\nThe bundle holds the repo folder, a lock, every package file the build installed with the signed\n' +
        "lists and keys that vouch for them, and the outputs' digests (docs/bundle.md).",
    );
  addLockTimeoutOption(command).action(async (ref: string, flags: BundleFlags, cmd: Command) => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    await makeBundle({
      repo: ref,
      reposDir: reposDir(globals),
      target: parseTarget(flags.target),
      bundle: flags.output,
      outputDir: flags.bin,
      lockTimeout: parseLockTimeout(flags.lockTimeout),
      logger: loggerFor(globals),
    });
  });
}
