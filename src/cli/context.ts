import { resolve } from 'node:path';
import { createLogger, type Logger } from '../log/logger.js';

/** Options every command shares, set on the root program. */
export interface GlobalOptions {
  repos?: string;
  json?: boolean;
  debug?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export function reposDir(opts: GlobalOptions): string {
  return resolve(opts.repos ?? process.env.ISOBUILD_REPOS ?? 'repos');
}

export function cacheRoot(): string {
  return resolve(process.env.ISOBUILD_CACHE ?? '.isobuild');
}

export function loggerFor(opts: GlobalOptions): Logger {
  return createLogger({ json: opts.json, debug: opts.debug, verbose: opts.verbose, quiet: opts.quiet });
}
