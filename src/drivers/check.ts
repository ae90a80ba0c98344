import type { Diagnostic } from '../errors.js';
import { findNearest } from '../spec/suggest.js';
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
