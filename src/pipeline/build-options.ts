import { UsageError } from '../errors.js';
import { TARGETS, type BuildOptions, type Target } from '../stage/types.js';

// The build's defaults and the parsing of a target name, apart from the plan: the CLI reads them
// for every command, and plan.ts imports the whole pipeline.

export function parseTarget(value: string): Target {
  if ((TARGETS as readonly string[]).includes(value)) return value as Target;
  throw new UsageError(`unknown target "${value}"; targets: ${TARGETS.join(', ')}`);
}

/** The stage cache's folder when none is given: ISOBUILD_CACHE, else ./.isobuild. */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.ISOBUILD_CACHE ?? '.isobuild';
}

export function defaultBuildOptions(env: NodeJS.ProcessEnv = process.env): BuildOptions {
  return {
    cacheRoot: defaultCacheRoot(env),
    outputDir: 'bin',
    noCache: false,
    lockTimeout: 1800,
    sourceDateEpoch: parseEpoch(env.SOURCE_DATE_EPOCH) ?? 0,
  };
}

export function parseEpoch(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`SOURCE_DATE_EPOCH must be whole seconds, got "${value}"`);
  return Number(value);
}
