import { execa, type Options as ExecaOptions } from 'execa';
import { CommandError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { cancelSignal } from './cancel.js';
import { HOST_TOOLS, packageFor, type HostTool } from './host-tools.js';
import { endGroup, forgetGroup, GRACE_MS, noteGroup } from './process-group.js';
import { quoteCommand } from './shell-quote.js';

/**
 * The one process runner. Argument arrays only: no spec value ever reaches a shell.
 * Output is captured (interleaved, for error tails) and streamed line by line into the
 * logger, so a stage's log file holds every command's full output.
 */
export interface RunOptions {
  cwd?: string;
  /** Added to the environment, or the whole environment when `cleanEnv` is set. */
  env?: Record<string, string | undefined>;
  cleanEnv?: boolean;
  input?: string | Buffer;
  /** Stage name, for error messages. */
  stage?: string;
  logger?: Logger;
  timeoutMs?: number;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  /** Pass the terminal through (qemu consoles, interactive shells); output is then not captured. */
  inherit?: boolean;
  /** Lines of output kept in an error message. */
  tailLines?: number;
  /** Keep stdout as raw bytes (cpio streams, binary tools). */
  binaryStdout?: boolean;
  /** Stops the command early (e.g. qemu once the console said what we waited for). */
  signal?: AbortSignal;
  /** Kill the command when isobuild itself dies, even by SIGKILL (qemu: never left running). */
  dieWithParent?: boolean;
  /** Bytes the command reads on descriptors 3, 4...: a pipe each (bwrap's --seccomp program). */
  extraFds?: readonly Uint8Array[];
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved. */
  all: string;
  command: string;
  stdoutBuffer?: Buffer;
  /** The signal that ended the command, when one did (SIGKILL from the OOM killer, a user's kill). */
  signal?: string;
}

/** Set for every command that inherits our environment. */
const FIXED_ENV = { TZ: 'UTC', LC_ALL: 'C.UTF-8', LANGUAGE: '' } as const;

/** TMPDIR for every command: a per-build folder isobuild removes, so tools' own temp files go too. */
let childTmpDir: string | undefined;
export function setChildTmpDir(dir: string | undefined): void {
  childTmpDir = dir;
}

/**
 * The last `lines` lines of a tool's output that say something, as a terminal would show them:
 * colour codes dropped, a line redrawn with carriage returns (a progress bar) as its last
 * redraw, blank lines left out. A bar that wipes itself, or padding after the reason,
 * then cannot push the reason out of an error's tail and leave it looking empty.
 */
export function tail(text: string, lines = 20): string {
  const said = text
    .split('\n')
    .map(shownText)
    .filter((l) => l.trim() !== '');
  return said.slice(-lines).join('\n');
}

// eslint-disable-next-line no-control-regex -- colour and cursor codes are what is removed
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g;

/** A line as a terminal leaves it: the last text written after a carriage return (a bar wiped with blanks is blank). */
function shownText(line: string): string {
  const redraws = line.replace(ANSI, '').split('\r');
  while (redraws.length > 1 && redraws.at(-1) === '') redraws.pop();
  return redraws.at(-1)!.trimEnd();
}

export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const logger = opts.logger ?? silentLogger;
  const cancel = opts.signal ? AbortSignal.any([cancelSignal(), opts.signal]) : cancelSignal();
  // The terminal's Ctrl-C reaches only our own group: an interactive command stays in it.
  const ownGroup = !opts.inherit;
  // The caller's time zone and language never reach a tool's output (dates in logs, sort order).
  const env = opts.cleanEnv
    ? opts.env
    : { ...FIXED_ENV, ...(childTmpDir ? { TMPDIR: childTmpDir } : {}), ...opts.env };
  const [runFile, runArgs] = opts.dieWithParent
    ? ['setpriv', ['--pdeathsig', 'KILL', '--', file, ...args]]
    : [file, args];
  const execaOpts: ExecaOptions = {
    cwd: opts.cwd,
    env,
    extendEnv: !opts.cleanEnv,
    detached: ownGroup,
    forceKillAfterDelay: GRACE_MS,
    ...(opts.input === undefined ? {} : { input: opts.input }),
    reject: false,
    all: !opts.inherit,
    timeout: opts.timeoutMs,
    cancelSignal: cancel,
    encoding: opts.binaryStdout ? 'buffer' : 'utf8',
    stripFinalNewline: false,
    stdio: [...standardStdio(opts, logger), ...(opts.extraFds ?? [])],
  } as ExecaOptions;
  const shown = quoteCommand([file, ...args]);
  logger.debug(`$ ${shown}`);
  const started = performance.now();
  const child = execa(runFile, runArgs as string[], execaOpts);
  const pgid = ownGroup ? child.pid : undefined;
  let ending: Promise<void> | undefined;
  const endTree = () => (ending ??= pgid ? endGroup(pgid) : Promise.resolve());
  if (pgid) {
    await noteGroup(pgid).catch(() => undefined);
    cancel.addEventListener('abort', endTree, { once: true });
  }
  const res = await child;
  // Every command's duration goes to the stage log, so the slow step of a slow stage is visible.
  logger.debug(
    `  ${file}: ${((performance.now() - started) / 1000).toFixed(2)} s, exit ${res.exitCode ?? res.signal ?? '?'}`,
  );
  cancel.removeEventListener('abort', endTree);
  // Stopped, timed out or killed: whatever the command started goes with it.
  if (pgid && (cancel.aborted || res.timedOut || res.signal)) await endTree();
  if (pgid) forgetGroup(pgid);
  // The command as the user would run it, without the setpriv wrapper.
  const command = opts.dieWithParent ? shown : res.escapedCommand;
  const asText = (v: unknown) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : '');
  const result: RunResult = {
    exitCode: res.exitCode ?? (res.failed ? 1 : 0),
    stdout: opts.binaryStdout ? '' : asText(res.stdout),
    stderr: asText(res.stderr),
    all: asText(res.all),
    command,
    signal: res.signal ?? undefined,
    stdoutBuffer: opts.binaryStdout && res.stdout instanceof Uint8Array ? Buffer.from(res.stdout) : undefined,
  };
  // Interrupted by the user: that, not the killed command, is what to report.
  if (cancelSignal().aborted) throw cancelSignal().reason;
  if (!res.failed || opts.allowFailure) return result;

  const outputTail = tail(result.all || result.stderr, opts.tailLines ?? 20);
  let why: string;
  if (res.isCanceled) why = 'cancelled';
  else if (res.timedOut) why = `timed out after ${opts.timeoutMs} ms`;
  // Preflight found every tool the plan needs: one missing now was removed (or PATH changed) since.
  else if (res.exitCode === undefined && res.code === 'ENOENT')
    why = `command not found: ${file}${file in HOST_TOOLS ? `; apt-get install ${packageFor(file as HostTool)}` : ''}`;
  // 127 may come from a command that `file` ran (chroot, sh -c), so name no command.
  else if (res.exitCode === 127) why = 'exit status 127: a command was not found';
  else if (res.signal) why = `killed by ${res.signal}`;
  else why = `exit status ${res.exitCode}`;
  throw new CommandError(
    `command failed (${why})\n  $ ${command}` +
      (outputTail ? `\n  output (last lines):\n${indent(outputTail, '    ')}` : ''),
    { stage: opts.stage, command, exitCode: res.exitCode, outputTail },
    { cause: res },
  );
}

/** stdin, stdout and stderr: the terminal's, or captured with each line logged. */
function standardStdio(opts: RunOptions, logger: Logger) {
  if (opts.inherit) return ['inherit', 'inherit', 'inherit'] as const;
  const logged = ['pipe', { transform: logLines(logger), preserveNewlines: true }] as const;
  return [
    // No input means no terminal: a tool that would prompt fails instead of hanging.
    opts.input === undefined ? 'ignore' : 'pipe',
    opts.binaryStdout ? (['pipe'] as const) : logged,
    logged,
  ] as const;
}

function logLines(logger: Logger) {
  return function* (line: unknown) {
    logger.output(typeof line === 'string' ? line : String(line));
    yield line;
  };
}

export function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}
