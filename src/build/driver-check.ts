import { checkDriverSites, type DriverSite } from '../drivers/check.js';
import { formatDiagnostic, SpecError, type Diagnostic } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { cacheLayout } from '../cache/cache.js';
import { makePlan } from '../pipeline/plan.js';
import { defaultBuildOptions, defaultCacheRoot } from '../pipeline/build-options.js';
import type { Target } from '../stage/types.js';
import { findCachedKernel } from '../pipeline/cached-kernel.js';
import { loadRepoFolder, locateRepo } from '../spec/load.js';
import type { ResolvedSpec } from '../spec/types.js';
import type { SpecOverrides } from '../spec/normalise.js';
import { resolve } from 'node:path';

/** What the validate-time driver check found: errors at the drivers' lines, and what it checked against. */
export interface DriverCheck {
  checked: boolean;
  /** The kernel version checked against. */
  kernel?: string;
  /** One line for the user: what the drivers were checked against, or why they were not. */
  note: string;
  errors: Diagnostic[];
}

/**
 * Checks init.sh's and the spec's drivers against the kernel a cached iso-base installed, so a driver
 * no kernel module provides fails `validate` and `plan` instead of the drivers stage after a cold
 * iso-base. Reads the cache only: no network, no build. Undefined when the repo asks for no driver.
 */
export async function checkRepoDrivers(
  spec: ResolvedSpec,
  sites: readonly DriverSite[],
  cacheRoot = defaultCacheRoot(),
): Promise<DriverCheck | undefined> {
  if (sites.length === 0) return undefined;
  const kernel = await findCachedKernel(cacheLayout(resolve(cacheRoot)), spec.name, spec.kernel);
  if (!kernel)
    return {
      checked: false,
      note: 'not checked (no module list known: build iso-base once)',
      errors: [],
    };
  const errors = checkDriverSites(kernel, sites);
  return {
    checked: true,
    kernel: kernel.index.kernelVersion,
    note: `${sites.length} checked against kernel ${kernel.index.kernelVersion} (${kernel.from})`,
    errors,
  };
}

/**
 * loadRepo with the driver check; a driver the cached kernel lacks is a SpecError as any spec
 * problem is. `wanted` says whether the command needs the drivers (a build whose target ends
 * before the drivers stage does not). `sites` say where each driver was asked for.
 */
export async function loadRepoCheckingDrivers(
  ref: string,
  reposDir: string,
  logger: Logger,
  wanted: (spec: ResolvedSpec) => boolean = () => true,
  cacheRoot?: string,
  overrides: SpecOverrides = {},
): Promise<{ spec: ResolvedSpec; drivers?: DriverCheck; sites: readonly DriverSite[] }> {
  const result = await loadRepoFolder(await locateRepo(ref, reposDir), overrides);
  for (const w of result.warnings) logger.warn(formatDiagnostic(w));
  if (!result.spec) throw new SpecError(result.errors);
  const sites = result.driverSites ?? [];
  if (!wanted(result.spec)) return { spec: result.spec, sites };
  const drivers = await checkRepoDrivers(result.spec, sites, cacheRoot);
  if (drivers?.errors.length) throw new SpecError(drivers.errors);
  return { spec: result.spec, sites, ...(drivers ? { drivers } : {}) };
}

/** Whether building `target` reaches the drivers stage; a plan error is left for the command to report. */
export function runsDriversStage(spec: ResolvedSpec, target: Target): boolean {
  try {
    return makePlan(spec, target, defaultBuildOptions()).stages.some((s) => s.name === 'drivers');
  } catch {
    return false;
  }
}
