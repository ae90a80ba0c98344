import { KernelConfigError, type Diagnostic, type KernelConfigProblem } from '../errors.js';
import { findNearest } from '../spec/suggest.js';
import { COMMON_DRIVERS } from './common.js';
import { normaliseModuleName, type ModuleIndex } from './module-index.js';
import { resolveDriver } from './resolve.js';

/** Where a repo asks for a driver: a word of init.sh's drivers array or an item of the spec's `drivers`. */
export interface DriverSite {
  name: string;
  source: 'repo' | 'spec';
  /** The file as diagnostics show it. */
  file: string;
  line: number;
  col: number;
  /** '' for init.sh; /drivers/<i> in the spec. */
  pointer: string;
}

/** The kernel whose module index a check used, as the diagnostics name it. */
export interface KnownKernel {
  index: ModuleIndex;
  /** Where the index was read, e.g. "the cached iso-base .isobuild/stages/debian-12/iso-base-<key>". */
  from: string;
}

/**
 * The drivers the kernel has in no form (module, built-in, alias), one error at each one's place:
 * the same test the drivers stage makes after iso-base, made before any of the build runs.
 */
export function checkDriverSites(kernel: KnownKernel, sites: readonly DriverSite[]): Diagnostic[] {
  const { index } = kernel;
  let names: string[] | undefined;
  const out: Diagnostic[] = [];
  for (const site of sites) {
    if (resolveDriver(index, site.name).kind !== 'missing') continue;
    names ??= [...index.files.keys(), ...index.builtin];
    const near = findNearest(normaliseModuleName(site.name), names);
    out.push({
      file: site.file,
      line: site.line,
      col: site.col,
      pointer: site.pointer,
      message:
        `driver "${site.name}" is neither a module nor built into kernel ${index.kernelVersion} ` +
        `(${kernel.from})${near ? `: did you mean "${near}"?` : ': remove it or pick a kernel that has it'}`,
      rule: 'drivers-exist',
    });
  }
  return out;
}

/** How a problem about a driver of VIC's common list says where the driver comes from. */
export const COMMON_LIST = "VIC's common list (src/drivers/common.ts)";

/**
 * Puts each driver problem of a kernel build at the place the driver was asked for: its word in
 * init.sh's drivers array (file:line:col), the spec's value (file:line:col and /drivers/<i>), or
 * VIC's common list. The kernel stage knows only the drivers' names: its key holds the drivers,
 * not the lines they are written on, so moving a line does not rebuild the kernel. The build,
 * which read the repo, places them. Problems already placed (a fragment's line) stay as they are.
 */
export function placeKernelProblems(err: KernelConfigError, sites: readonly DriverSite[]): KernelConfigError {
  const common = new Set(COMMON_DRIVERS.flat().map(normaliseModuleName));
  const place = (p: KernelConfigProblem): KernelConfigProblem => {
    if (p.file || !p.driver) return p;
    const name = normaliseModuleName(p.driver);
    const site = sites.find((s) => normaliseModuleName(s.name) === name);
    if (site)
      return {
        ...p,
        file: site.file,
        line: site.line,
        col: site.col,
        ...(site.pointer ? { pointer: site.pointer } : {}),
      };
    if (!common.has(name)) return p;
    return {
      ...p,
      list: COMMON_LIST,
      suggestion:
        'set "common_drivers": false to leave the list out, or build the kernel from a config where it can be =y',
    };
  };
  const placed = new KernelConfigError(err.problems.map(place), { cause: err }).atStage(err.stage);
  // What the pipeline added after the problems (the stage's full log) stays at the end.
  const own = new KernelConfigError(err.problems).message;
  const at = err.message.indexOf(own);
  if (at >= 0) placed.message += err.message.slice(at + own.length);
  return placed;
}
