import { resolve } from 'node:path';
import { quoteWord } from '../exec/shell-quote.js';
import { writeEvent } from '../log/events.js';
import { reposDirFor } from '../spec/repos-dir.js';
import { defaultCacheRoot } from '../pipeline/build-options.js';
import { createLogger, type Logger } from '../log/logger.js';
import { progressModeFor, withProgress } from '../log/progress.js';

/** Options every command shares, set on the root program. */
export interface GlobalOptions {
  repos?: string;
  json?: boolean;
  debug?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

/** --repos, else the build library's default (ISOBUILD_REPOS, ./repos, the shipped repos). */
export function reposDir(opts: GlobalOptions): string {
  return reposDirFor(opts.repos);
}

/**
 * A next-step command to print (`isobuild --repos DIR validate mine`): it keeps the --repos the
 * user gave, so copying it runs against the same repos folder.
 */
export function nextCommand(opts: GlobalOptions, ...words: string[]): string {
  return ['isobuild', ...(opts.repos ? ['--repos', quoteWord(opts.repos)] : []), ...words].join(' ');
}

export function cacheRoot(): string {
  return resolve(defaultCacheRoot());
}

export function loggerFor(opts: GlobalOptions): Logger {
  const logger = createLogger({
    json: opts.json,
    debug: opts.debug,
    verbose: opts.verbose,
    quiet: opts.quiet,
  });
  // Only builds send stage events, so other commands are unchanged by the progress display.
  return withProgress(logger, progressModeFor(opts));
}

/**
 * Prints a line of a guest's console (or of the command run in it): as is, or with --json as a
 * `console` event on stdout, so JSON Lines output never carries raw text.
 */
export function consoleWriter(
  opts: GlobalOptions,
  source: 'console' | 'command',
  stream: NodeJS.WritableStream = process.stdout,
): (line: string) => void {
  if (opts.json) return (line) => writeEvent({ type: 'console', source, line });
  return (line) => stream.write(line + '\n');
}
