#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { IsobuildError } from '../errors.js';
import { wireCancellation } from '../exec/cancel.js';
import { useColour } from '../log/logger.js';
import { COMMANDS } from './commands.js';
import { VERSION } from '../version.js';

/** Root options that take a value: their value is not a repo name. */
const VALUE_OPTIONS = new Set(['--repos']);

/** Words that are commands; anything else in first position is a repo to build (`npx isobuild photon-2.0`). */
export function withDefaultCommand(argv: string[], program: Command): string[] {
  const args = argv.slice(2);
  let first = -1;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) {
      first = i;
      break;
    }
  }
  if (first === -1) return argv;
  const known = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  known.add('help');
  if (known.has(args[first]!)) return argv;
  return [...argv.slice(0, 2), ...args.slice(0, first), 'build', ...args.slice(first)];
}

export async function main(argv = process.argv): Promise<number> {
  const program = new Command('isobuild')
    .description('Build bootable appliance ISOs, initrds and kernels from declarative repo specs.')
    .version(VERSION, '-V, --version')
    .option('--repos <dir>', 'repos folder (default: ./repos, or ISOBUILD_REPOS)')
    .option('--json', 'machine-readable output: one JSON object per line')
    .option('--debug', 'show stack traces and debug logs')
    .option('-v, --verbose', 'print the output of every command run')
    .option('-q, --quiet', 'only warnings and errors')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  for (const register of COMMANDS) register(program);
  if (!useColour(process.stdout)) program.configureHelp({});

  try {
    await program.parseAsync(withDefaultCommand(argv, program));
    return Number(process.exitCode ?? 0);
  } catch (err) {
    return report(err, program.opts<{ debug?: boolean }>().debug ?? false);
  }
}

/** The single place that prints an error and picks the exit code. */
function report(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
      return 0;
    return 2;
  }
  const colour = useColour(process.stderr);
  const red = (s: string) => (colour ? `\x1b[31m${s}\x1b[0m` : s);
  if (err instanceof IsobuildError) {
    process.stderr.write(red('error: ') + err.message + '\n');
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(red('internal error: ') + e.message + '\n');
  if (debug) process.stderr.write((e.stack ?? '') + '\n');
  else process.stderr.write('(run again with --debug for a stack trace)\n');
  return 1;
}

wireCancellation();
// exitCode, not exit(): a pending write to a pipe (--json, plan output) must not be cut short.
main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(String(err) + '\n');
    process.exitCode = 1;
  },
);
