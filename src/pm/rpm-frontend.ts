import { accessSync, constants, realpathSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import type { Logger } from '../log/logger.js';
import type { RpmTool } from './rpm-config.js';

/**
 * Which program runs for an RPM adapter. yum and tdnf fall back to dnf with the same
 * configuration when they are not installed: tdnf is not packaged in Debian, and current
 * Fedora and RHEL ship yum as dnf anyway.
 */
export interface RpmFrontend {
  /** The adapter the spec asked for. */
  readonly adapter: RpmTool;
  /** The program that runs. */
  readonly tool: RpmTool;
  /** Its path, or the bare name when it is not installed (the run then reports it missing). */
  readonly path: string;
  /** Why another program runs than the one asked for, if it does. */
  readonly fallback?: string;
}

function findOnPathSync(tool: string, pathEnv: string): string | undefined {
  for (const dir of [...pathEnv.split(delimiter), '/usr/sbin', '/sbin']) {
    if (!dir) continue;
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/** A yum that is really dnf (Fedora, RHEL 8+) takes dnf's configuration keys. */
function isDnfInDisguise(path: string): boolean {
  try {
    return basename(realpathSync(path)).startsWith('dnf');
  } catch {
    return false;
  }
}

export function selectRpmFrontend(adapter: RpmTool, pathEnv = process.env.PATH ?? ''): RpmFrontend {
  const native = findOnPathSync(adapter, pathEnv);
  if (native) {
    if (adapter === 'yum' && isDnfInDisguise(native)) return { adapter, tool: 'dnf', path: native };
    return { adapter, tool: adapter, path: native };
  }
  if (adapter === 'dnf') return { adapter, tool: 'dnf', path: 'dnf' };
  const dnf = findOnPathSync('dnf', pathEnv);
  return {
    adapter,
    tool: 'dnf',
    path: dnf ?? 'dnf',
    fallback: `${adapter} is not installed on this host; running dnf with the same configuration instead`,
  };
}

const told = new WeakMap<Logger, Set<string>>();

/** Says once per logger (one build) that another program stands in for the one asked for. */
export function reportFallback(logger: Logger, frontend: RpmFrontend): void {
  if (!frontend.fallback) return;
  const seen = told.get(logger) ?? new Set<string>();
  told.set(logger, seen);
  if (seen.has(frontend.adapter)) return;
  seen.add(frontend.adapter);
  logger.warn(frontend.fallback);
}
