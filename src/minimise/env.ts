import type { ResolvedSpec } from '../spec/types.js';

/**
 * The fixed environment the traced workloads run with, and the one the app init exports at
 * boot: tracing under a different PATH or LANG would keep the wrong files (other locale
 * files, another python on PATH).
 */
export const DEFAULT_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
});

/** DEFAULT_ENV with spec.minimise.env merged over it, keys sorted so scripts come out byte-identical. */
export function fixedEnv(spec: Pick<ResolvedSpec, 'minimise'>): Record<string, string> {
  const merged: Record<string, string> = { ...DEFAULT_ENV, ...(spec.minimise?.env ?? {}) };
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
