import type { Manifest } from '../inventory/manifest.js';
import type { FileRecord } from '../inventory/types.js';
import type { FileOwner } from './types.js';

/** Where kernel modules live (with and without merged /usr): the kernel's, whoever unpacked them. */
const KERNEL_PATHS = ['/lib/modules/', '/usr/lib/modules/'];

/**
 * The owner a manifest records for a file, when it records one: a later manifest may carry
 * `owner` on each file (a package, a hook...). Read as data, so a new kind needs no change here.
 */
function recordedOwner(f: FileRecord): FileOwner | undefined {
  const o = (f as FileRecord & { owner?: unknown }).owner;
  if (typeof o === 'string' && o) {
    const [kind, ...name] = o.split(':');
    return { kind: kind!, name: name.join(':') || kind! };
  }
  if (o && typeof o === 'object' && typeof (o as FileOwner).kind === 'string')
    return { kind: (o as FileOwner).kind, name: String((o as FileOwner).name ?? (o as FileOwner).kind) };
  return undefined;
}

/**
 * Who put each file of the output's root there: what the manifest records, else the package
 * database (`dpkgOwners`, path → package), else isobuild's init layer (the manifest's
 * isobuildFiles), the kernel's modules, or `other` (made by a hook, a package's maintainer
 * script, or a package whose file list was not at hand).
 */
/** The kernel as an owner: its modules in the root, and the vmlinuz the output boots. */
export function kernelOwner(m: Pick<Manifest, 'kernel'>): FileOwner {
  return { kind: 'kernel', name: m.kernel ? `linux ${m.kernel.version}` : 'kernel' };
}

export interface Owners {
  /** Who put this file of the root there. */
  ofFile(f: FileRecord): FileOwner;
  /** An SBOM package as an owner: kind kernel for the package that holds the kernel's modules. */
  ofPackage(name: string): FileOwner;
}

export function makeOwners(
  m: Pick<Manifest, 'isobuildFiles' | 'kernel'>,
  dpkgOwners: ReadonlyMap<string, string> | undefined,
): Owners {
  const initLayer = new Set(m.isobuildFiles.map((f) => f.path));
  const kernel = kernelOwner(m);
  const initOwner: FileOwner = { kind: 'init-layer', name: 'isobuild init layer' };
  const other: FileOwner = { kind: 'other', name: 'no package' };
  // kernel_install: package (or a kernel the package manager installed): its package is the kernel.
  const kernelPackage = m.kernel
    ? (dpkgOwners?.get(`/lib/modules/${m.kernel.version}`) ??
      dpkgOwners?.get(`/boot/vmlinuz-${m.kernel.version}`))
    : undefined;
  const packages = new Map<string, FileOwner>();
  const ofPackage = (name: string): FileOwner => {
    let owner = packages.get(name);
    if (!owner) packages.set(name, (owner = { kind: name === kernelPackage ? 'kernel' : 'package', name }));
    return owner;
  };
  return {
    ofPackage,
    ofFile(f) {
      const recorded = recordedOwner(f);
      if (recorded) return recorded;
      if (initLayer.has(f.path)) return initOwner;
      const pkg = dpkgOwners?.get(f.path);
      if (pkg) return ofPackage(pkg);
      if (KERNEL_PATHS.some((p) => f.path.startsWith(p))) return kernel;
      return other;
    },
  };
}
