import { Command, CommanderError } from 'commander';
import { IsobuildError, UsageError } from '../errors.js';
import { wireCancellation } from '../exec/cancel.js';
import { toFileSystemError } from '../fs/fs-error.js';
import { errorEvent, writeEvent } from '../log/events.js';
import { useColour } from '../log/logger.js';
import { findNearest } from '../spec/suggest.js';
import { VERSION } from '../version.js';
import { COMMAND_NAMES, COMMANDS, commandModule, type CommandModule } from './commands.js';
import { reposDir } from './context.js';

/** Root options that take a value: their value is not a command or a repo name. */
const VALUE_OPTIONS = new Set(['--repos']);

/**
 * The root program with the commands of `modules` registered; the package managers are loaded
 * first (they hand their adapters table to the spec's lifecycle) unless no module reads a spec.
 */
export async function makeProgram(modules: readonly CommandModule[] = COMMANDS): Promise<Command> {
  const registers = await Promise.all(modules.map((m) => m.load()));
  if (!modules.every((m) => m.specFree)) await import('../pm/index.js');
  const program = new Command('isobuild')
    .description('Build bootable appliance ISOs, initrds and kernels from declarative repo specs.')
    .version(VERSION, '-V, --version')
    .option('--repos <dir>', 'repos folder (default: ./repos, or ISOBUILD_REPOS, else the shipped repos)')
    .option('--json', 'machine-readable output: JSON Lines on stdout, one event per line (docs/json.md)')
    .option('--debug', 'show stack traces and debug logs')
    .option('-v, --verbose', 'print the output of every command run')
    .option('-q, --quiet', 'only warnings and errors; no live progress')
    .exitOverride()
    .showSuggestionAfterError();
  for (const register of registers) register(program);
  // Commander 12 silently accepts extra arguments; a stray word is almost always a mistake.
  for (const cmd of program.commands) cmd.allowExcessArguments(false).exitOverride();
  return program;
}

/** The first word that is not an option (or an option's value), and its index in args. */
function firstWord(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (arg === '--') return -1;
    else if (!arg.startsWith('-')) return i;
  }
  return -1;
}

function rootReposOption(args: readonly string[]): string | undefined {
  const i = args.indexOf('--repos');
  if (i !== -1) return args[i + 1];
  return args.find((a) => a.startsWith('--repos='))?.slice('--repos='.length);
}

function unknownCommand(word: string, names: readonly string[], extra = ''): UsageError {
  const near = findNearest(word, names);
  return new UsageError(
    `unknown command "${word}"${extra}` +
      (near ? ` (did you mean "${near}"?)` : `; commands: ${names.filter((n) => n !== 'help').join(', ')}`),
  );
}

/**
 * `isobuild REPO` builds the repo (VIC's `npx isobuild photon-2.0`). A first word that is neither
 * a command nor a repo is a usage error that names the nearest command, so `isobuild valdate`
 * says "did you mean validate?" instead of looking for a repo called valdate.
 */
export async function routeArgs(argv: string[]): Promise<string[]> {
  const args = argv.slice(2);
  const first = firstWord(args);
  // `isobuild` alone (a new user's first try) and a command group alone (`isobuild cache`) show
  // their help on stdout and exit 0, as `help` would, not commander's "(outputHelp)" error.
  if (first === -1) return [...argv, 'help'];
  const names = COMMAND_NAMES;
  const word = args[first]!;
  if (commandModule(word)?.group && firstWord(args.slice(first + 1)) === -1) return [...argv, 'help'];
  if (word === 'help') {
    const topic = args[first + 1];
    if (topic !== undefined && !names.includes(topic)) throw unknownCommand(topic, names);
    if (args.length > first + 2)
      throw new UsageError(`help takes one command, got: ${args.slice(first + 1).join(' ')}`);
    return argv;
  }
  if (names.includes(word)) return argv;
  const repos = reposDir({ repos: rootReposOption(args) });
  try {
    const { locateRepo } = await import('../spec/load.js');
    await locateRepo(word, repos);
  } catch (err) {
    // Not a repo either: a mistyped command is likelier than a mistyped repo when one is near.
    if (findNearest(word, names)) throw unknownCommand(word, names, ' and no such repo');
    throw err;
  }
  return [...argv.slice(0, 2), ...args.slice(0, first), 'build', ...args.slice(first)];
}

function wantsJson(argv: readonly string[]): boolean {
  return argv.slice(2).includes('--json');
}

/** The modules a routed command line needs: its command's own, or all of them (help, completion). */
function modulesFor(args: readonly string[]): readonly CommandModule[] {
  const first = firstWord(args);
  const module = first === -1 ? undefined : commandModule(args[first]!);
  return module && !module.readsCommands ? [module] : COMMANDS;
}

export async function main(argv = process.argv): Promise<number> {
  const json = wantsJson(argv);
  let program: Command | undefined;
  // Commander's own messages (unknown option, missing argument) are reported like ours.
  let commanderMessage = '';
  try {
    const routed = await routeArgs(argv);
    program = await makeProgram(modulesFor(routed.slice(2)));
    const capture = { outputError: (str: string) => (commanderMessage += str) };
    program.configureOutput(capture);
    for (const cmd of program.commands) cmd.configureOutput(capture);
    if (!useColour(process.stdout)) program.configureHelp({});
    await program.parseAsync(routed);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
        return 0;
      const message = commanderMessage.replace(/^error: /, '').trim() || err.message;
      return report(new UsageError(`${message}\n(isobuild help for usage)`), json, false);
    }
    // A full disk, a refused permission, a read-only mount met anywhere (a lock, the cache's
    // folders, a user's path) is named with its path, never an internal error.
    const named = err instanceof IsobuildError ? err : ((await toFileSystemError(err)) ?? err);
    return report(named, json, program?.opts<{ debug?: boolean }>().debug ?? false);
  }
}

/** The single place that prints an error and picks the exit code; with --json, an `error` event. */
function report(err: unknown, json: boolean, debug: boolean): number {
  const exitCode = err instanceof IsobuildError ? err.exitCode : 1;
  if (json) {
    writeEvent(errorEvent(err, exitCode));
    if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return exitCode;
  }
  const colour = useColour(process.stderr);
  const red = (s: string) => (colour ? `\x1b[31m${s}\x1b[0m` : s);
  if (err instanceof IsobuildError) {
    process.stderr.write(red('error: ') + err.message + '\n');
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    return exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(red('internal error: ') + e.message + '\n');
  if (debug) process.stderr.write((e.stack ?? '') + '\n');
  else process.stderr.write('(run again with --debug for a stack trace)\n');
  return 1;
}

/** Entry point, called by main.js once the Node version is known to be new enough. */
export async function runCli(): Promise<void> {
  wireCancellation();
  // Files isobuild and the tools it runs create get the same modes whatever the caller's umask
  // (under umask 077 the initrd's "/" was 0700); the code also sets modes where it writes.
  process.umask(0o022);
  // exitCode, not exit(): a pending write to a pipe (--json, plan output) must not be cut short.
  process.exitCode = await main().catch((err: unknown) => {
    process.stderr.write(String(err) + '\n');
    return 1;
  });
}
